#!/usr/bin/env bash
# Submit the sharded sweep once per GPU kind (one job array each, on the nodes with that
# feature), then the merge job, which starts when every array has ended. Prints the job ids.
#
#   KINDS="h100 a100" SHARDS=4 CONFIG=my-sweep.toml RESULTS=/shared/drift examples/cluster/slurm-submit.sh
#
# KINDS are node features (--constraint) of your site; each kind's shards go to RESULTS/KIND.
# CONFIG, RESULTS and DRIFTBENCH are read by the two job scripts (see slurm-shards.sbatch).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

KINDS=${KINDS:-h100 a100}
# Exported: the job script reads the shard count from it.
export SHARDS=${SHARDS:-4}
export CONFIG=${CONFIG:-configs/quick.toml}
# Absolute, so that the jobs find it whatever folder they start in.
RESULTS=$(realpath -m "${RESULTS:-driftbench-results}")
export RESULTS

ids=()
for kind in $KINDS; do
    # --parsable prints "JOBID" or "JOBID;CLUSTER". The constraint picks the kind; one GPU per
    # shard (as slurm-shards.sbatch's own #SBATCH line, said again here to keep both in view).
    id=$(sbatch --parsable --array="0-$((SHARDS - 1))" --constraint="$kind" --gres=gpu:1 \
        --export="ALL,LABEL=$kind" "$here/slurm-shards.sbatch")
    ids+=("${id%%;*}")
    echo "$kind: job array ${id%%;*} ($SHARDS shards into $RESULTS/$kind)"
done

deps=$(IFS=:; echo "${ids[*]}")
merge=$(sbatch --parsable --dependency="afterany:$deps" "$here/slurm-merge.sbatch")
echo "merge: job ${merge%%;*} after $deps, into $RESULTS/merged"
