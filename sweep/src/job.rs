//! A sweep as one job in its output folder: the journal opened (a new one with its header, or
//! an old one continued with `--resume`), then the sweep run into it. This is what the CLI's
//! `sweep` command does between choosing the backends and writing the report, in two
//! testable steps ([`Job::start`], [`Started::run`]); the report is not this crate's job.

use crate::grid::Cell;
use crate::journal::{self, Journal, JournalError};
use crate::peaks_cache::PeaksCache;
use crate::plan::SweepPlan;
use crate::records::{Environment, Origin, Record, ReferenceInfo, SweepHeader, SCHEMA_VERSION};
use crate::resume::{self, ResumeError};
use crate::runner::{self, cross_reference, Progress, Sweep, SweepControl};
use crate::shard_id::Shard;
use std::collections::HashSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The journal's file name in the output folder.
pub const JOURNAL_FILE: &str = "results.jsonl";

/// The replay bundles' folder in the output folder.
pub const REPLAY_DIR: &str = "replay";

/// The lock file in the output folder: the sweep writing into the folder holds an advisory
/// lock (`flock`) on it from the journal's opening to the report's last file.
pub const LOCK_FILE: &str = ".driftbench.lock";

/// Why a sweep job could not start or finish. Each message names the file or folder.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The output folder could not be created.
    #[error("cannot create output folder {}: {why}", path.display())]
    OutDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        why: std::io::Error,
    },
    /// `--resume` could not read the journal.
    #[error("--resume: {0}")]
    Read(JournalError),
    /// `--resume` found a journal of another sweep, or none it can continue.
    #[error("--resume: cannot continue {}: {why}", path.display())]
    Resume {
        /// The journal.
        path: PathBuf,
        /// Why.
        why: ResumeError,
    },
    /// Another sweep holds the output folder.
    #[error(
        "another driftbench sweep is writing into {}: wait for it to finish, or choose another --out",
        path.display()
    )]
    Busy {
        /// The output folder.
        path: PathBuf,
    },
    /// The journal could not be created, rewritten or appended to.
    #[error("{doing} {}: {why}", path.display())]
    Write {
        /// `cannot create`, `rewriting` or `writing`.
        doing: &'static str,
        /// The journal.
        path: PathBuf,
        /// Why.
        why: std::io::Error,
    },
}

/// A sweep to run into `out_dir`, with what its journal's header records.
pub struct Job<'a> {
    /// The config, grid, backends and noise-floor source.
    pub sweep: Sweep<'a>,
    /// The config file, as given.
    pub config_path: &'a Path,
    /// The output folder: the journal, the replay bundles (and, later, the report).
    pub out_dir: &'a Path,
    /// The machine, for the header.
    pub environment: Environment,
    /// Which backends must classify a pair for the sweep to pass.
    pub requirement: Requirement,
    /// The machine label and the config's and plugins' hashes, for the header.
    pub origin: Origin,
    /// The slice of the grid `sweep.grid` holds (`--shard K/N`); `None`: the whole grid.
    pub shard: Option<Shard>,
}

/// The backends a sweep needs results from ([`SweepPlan::required`], [`SweepPlan::optional`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Requirement {
    /// Named, not optional.
    pub required: Vec<String>,
    /// Named, optional.
    pub optional: Vec<String>,
}

impl Requirement {
    /// The backends `named` by `--backend` or the config (none: discovered, nothing
    /// required), less those `optional`.
    pub fn of(named: &[String], optional: &[String]) -> Requirement {
        let (optional, required) = named.iter().cloned().partition(|n| optional.contains(n));
        Requirement { required, optional }
    }
}

/// The output folder held by one sweep: the lock on [`LOCK_FILE`], released when dropped
/// (or when the process ends, however it ends).
#[derive(Debug)]
pub struct FolderLock {
    _file: File,
}

impl FolderLock {
    /// Take the lock on `dir`, or say that another sweep holds it.
    pub fn acquire(dir: &Path) -> Result<FolderLock, JobError> {
        let path = dir.join(LOCK_FILE);
        let write_error = |why| JobError::Write {
            doing: "cannot create",
            path: path.clone(),
            why,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(write_error)?;
        match file.try_lock() {
            Ok(()) => Ok(FolderLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(JobError::Busy {
                path: dir.to_path_buf(),
            }),
            Err(TryLockError::Error(why)) => Err(write_error(why)),
        }
    }
}

/// A job whose journal is open: new (header not yet written) or resumed.
pub struct Started<'a> {
    job: Job<'a>,
    lock: FolderLock,
    journal: Journal,
    path: PathBuf,
    header: Option<Record>,
    kept: Vec<Record>,
    done: HashSet<Cell>,
    /// Lines the journal reader had to say (a torn last line ignored...).
    pub warnings: Vec<String>,
}

/// What a finished (or interrupted) job leaves: every record of its journal.
#[derive(Debug)]
pub struct Finished {
    /// The journal.
    pub journal: PathBuf,
    /// The journal's records: a resumed journal's kept ones, then this run's.
    pub records: Vec<Record>,
    /// The sweep was stopped before its last pair.
    pub interrupted: bool,
    /// The output folder, still held: the report is written under the same lock.
    pub lock: Option<FolderLock>,
}

impl<'a> Job<'a> {
    /// The plan the journal records (and `--resume` checks).
    pub fn plan(&self) -> SweepPlan {
        SweepPlan {
            required: self.requirement.required.clone(),
            optional: self.requirement.optional.clone(),
            shard: self.shard,
            ..SweepPlan::of(self.sweep.cfg, &self.backend_names())
        }
    }

    fn backend_names(&self) -> Vec<String> {
        self.sweep
            .backends
            .iter()
            .map(|p| p.entry.name.clone())
            .collect()
    }

    /// The pairs the sweep plans: its cells on every backend.
    pub fn pairs_planned(&self) -> usize {
        self.sweep.grid.pair_count(self.sweep.backends.len())
    }

    /// Take the output folder (one sweep at a time) and open its journal: a new one (an
    /// old journal of a finished sweep is replaced), or with `resume` the old one, checked
    /// against this job's plan and rewritten without the records of unfinished cells.
    pub fn start(self, resume: bool) -> Result<Started<'a>, JobError> {
        std::fs::create_dir_all(self.out_dir).map_err(|why| JobError::OutDir {
            path: self.out_dir.to_path_buf(),
            why,
        })?;
        let lock = FolderLock::acquire(self.out_dir)?;
        let path = self.out_dir.join(JOURNAL_FILE);
        if resume {
            return self.resume(path, lock);
        }
        let journal = Journal::create(&path).map_err(|why| JobError::Write {
            doing: "cannot create",
            path: path.clone(),
            why,
        })?;
        let header = Record::Sweep(Box::new(self.header()));
        Ok(Started {
            job: self,
            lock,
            journal,
            path,
            header: Some(header),
            kept: Vec::new(),
            done: HashSet::new(),
            warnings: Vec::new(),
        })
    }

    fn resume(self, path: PathBuf, lock: FolderLock) -> Result<Started<'a>, JobError> {
        let (old, mut warnings) = journal::read(&path).map_err(JobError::Read)?;
        let r = resume::resume(old, &self.plan()).map_err(|why| JobError::Resume {
            path: path.clone(),
            why,
        })?;
        warnings.extend(r.notes.iter().map(|n| format!("{}: {n}", path.display())));
        let journal = Journal::rewrite(&path, &r.kept).map_err(|why| JobError::Write {
            doing: "rewriting",
            path: path.clone(),
            why,
        })?;
        Ok(Started {
            job: self,
            lock,
            journal,
            path,
            header: None,
            kept: r.kept,
            done: r.done,
            warnings,
        })
    }

    /// The journal's first record: what was planned, on what, where.
    fn header(&self) -> SweepHeader {
        let cfg = self.sweep.cfg;
        let names = self.backend_names();
        let plan = self.plan();
        SweepHeader {
            schema_version: SCHEMA_VERSION,
            name: cfg.name.clone(),
            config_path: self.config_path.display().to_string(),
            started_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            model: cfg.model.describe(),
            block_size: cfg.block_size,
            tolerances: cfg.tolerances.clone(),
            pairs_planned: self.pairs_planned(),
            environment: self.environment.clone(),
            backends: self
                .sweep
                .backends
                .iter()
                .map(|p| p.entry.clone())
                .collect(),
            plan: Some(plan.clone()),
            origin: Some(Origin {
                plan_sha256: Some(plan.fingerprint()),
                ..self.origin.clone()
            }),
            merged: None,
            reference: Some(ReferenceInfo {
                cross_backend: cross_reference(cfg, &names).map(str::to_string),
                noise_floor: cfg.reference.noise_floor,
                floor_backend: cfg.reference.floor_backend.clone(),
                rule: cfg.reference.rule,
            }),
        }
    }
}

impl Started<'_> {
    /// The journal's path.
    pub fn journal(&self) -> &Path {
        &self.path
    }

    /// Cells a resumed journal already holds (0 for a new one), and the grid's cells.
    pub fn cells_done(&self) -> (usize, usize) {
        (self.done.len(), self.job.sweep.grid.cells().len())
    }

    /// Run the cells the journal lacks, stopping between pairs once `stop` is set; replay
    /// bundles go under the output folder's `replay/`, measured peaks into `peaks`.
    pub fn run(
        self,
        progress: &dyn Progress,
        stop: Arc<AtomicBool>,
        peaks: PeaksCache,
    ) -> Result<Finished, JobError> {
        let Started {
            job,
            lock,
            mut journal,
            path,
            header,
            mut kept,
            done,
            ..
        } = self;
        let ctl = SweepControl {
            done,
            stop,
            // Every FAIL_* or INCOMPLETE pair leaves what `driftbench replay` needs.
            bundles: Some(job.out_dir.join(REPLAY_DIR)),
            peaks,
        };
        let run =
            runner::run_sweep(job.sweep, header, &mut journal, progress, &ctl).map_err(|why| {
                JobError::Write {
                    doing: "writing",
                    path: path.clone(),
                    why,
                }
            })?;
        kept.extend(run.records);
        Ok(Finished {
            journal: path,
            records: kept,
            interrupted: run.interrupted,
            lock: Some(lock),
        })
    }
}
