#!/usr/bin/env bash
# Make the seeds of the fuzz targets `journal`, `bundle` and `diff` (fuzz/corpus/<target>/)
# again, after a change of the journal, bundle or report format left them stale (the
# `*_seeds_still_read` tests say so): five small sweeps of the built driftbench (configs/ci.toml
# on flex; a synthetic model on the test plugin, one instance shifting decode by 0.5, with
# and without a noise-floor rule and on one backend; flex with a noise-floor rule and a floor_k
# every pair fails), their journals, bundles and reports kept as `real-*` (trimmed to a few KB),
# and hostile variants of them. Needs `cargo build --workspace` first, and python3.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${DRIFTBENCH:-$root/target/debug/driftbench}
plugin=$root/target/debug/libdriftbench_test_plugin.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

model='[model]
kind = "synthetic"
layers = 1
hidden = 16
heads = 2
kv_heads = 1
ffn = 32
vocab = 32
'
printf '%s\n[sweep]\nspans = [3]\ndtypes = ["f32"]\nkv_aligned = [0]\nseeds = [0]\n\n[backends.shifted]\nplugin = "testplugin"\ndecode_shift = 0.5\n' "$model" > tiny.toml
printf '%s\n[sweep]\nspans = [3, 5]\ndtypes = ["f32"]\nkv_aligned = [0, 1]\nseeds = [0]\n\n[backends.shifted]\nplugin = "testplugin"\ndecode_shift = 0.5\n' "$model" > shifted.toml
printf '%s\n[sweep]\ntimeout_s = 60\nspans = [3]\ndtypes = ["f32"]\nkv_aligned = [0]\nseeds = [0]\n\n[backends.shifted]\nplugin = "testplugin"\ndecode_shift = 0.5\n\n[reference]\ntolerance_mode = "both"\nfloor_k = 4.0\n' "$model" > floor.toml
printf 'name = "flex-floor"\n%s\n[sweep]\nbackends = ["flex"]\nspans = [3]\ndtypes = ["f16"]\nkv_aligned = [1]\nseeds = [0]\ntimeout_s = 60\n\n[reference]\ntolerance_mode = "both"\nfloor_routes = "both"\nfloor_k = 0.001\n' "$model" > flexfloor.toml
mkdir configs && cp "$root/configs/ci.toml" configs/ci.toml

# Exit codes 1 (FAIL) and 3 (INCOMPLETE) are what some of these sweeps are for.
sweep() {
    local rc=0
    "$@" > /dev/null 2>&1 || rc=$?
    case $rc in
    0 | 1 | 3) ;;
    *) echo "error: exit code $rc from: $*" >&2 && exit 1 ;;
    esac
}
sweep "$bin" sweep configs/ci.toml --out ci-out --backend flex
export DRIFTBENCH_TEST_PLUGIN_MODE=ok
sweep "$bin" sweep shifted.toml --plugin "$plugin" --backend testplugin,shifted --out sh-out
sweep "$bin" sweep tiny.toml --plugin "$plugin" --backend testplugin,shifted --out tiny-out
sweep "$bin" sweep tiny.toml --plugin "$plugin" --backend testplugin --out tinyp-out
sweep "$bin" sweep floor.toml --plugin "$plugin" --backend testplugin,shifted --out floor-out
sweep "$bin" sweep flexfloor.toml --backend flex --out ff-out

corpus=$root/fuzz/corpus
for t in journal bundle diff; do
    rm -f "$corpus/$t"/*
done
python3 - "$corpus" "$tmp" <<'PY'
import json, copy, os
import sys
S, T = sys.argv[1], sys.argv[2]
def lines(p): return [l.rstrip('\n') for l in open(p) if l.strip()]
def w(t, name, data):
    if isinstance(data, str): data = data.encode()
    open(f'{S}/{t}/{name}','wb').write(data)
def dumps(o): return json.dumps(o, separators=(',',':'))
# One record a line, as the journal writes them; a str is a line as it is.
def jl(recs): return ''.join((r if isinstance(r, str) else dumps(r)) + '\n' for r in recs)

# ---------------- journal
ci = lines(T+'/ci-out/results.jsonl')
# header, references, session f32, its first two cells (span 5 kv 0/1), summary
idx=[]; pairs=0
for i,l in enumerate(ci):
    d=json.loads(l)
    if d['type'] in ('sweep','reference'): idx.append(i); continue
    if d['type']=='session' and d['dtype']!='f32': break
    idx.append(i)
    if d['type']=='pair':
        pairs+=1
        if pairs==2: break
trim=[ci[i] for i in idx]+[ci[-1]]
w('journal','real-ci-flex.jsonl', '\n'.join(trim)+'\n')
w('journal','real-testplugin-shifted.jsonl', open(T+'/tiny-out/results.jsonl').read())
w('journal','real-flex-noise-floor.jsonl', open(T+'/ff-out/results.jsonl').read())
w('journal','real-incomplete-no-floor.jsonl', open(T+'/floor-out/results.jsonl').read())
# torn: the ci journal with the last line cut mid-value, no final newline
body='\n'.join(trim[:-1])+'\n'+trim[-1][:len(trim[-1])//2]
w('journal','torn-last-line.jsonl', body)

tiny=[json.loads(l) for l in lines(T+'/tiny-out/results.jsonl')]
def first(t): return next(copy.deepcopy(r) for r in tiny if r['type']==t)
hdr=first('sweep'); pair=first('pair'); run=first('run'); sess=first('session'); cross=first('cross'); summ=first('summary'); warm=first('warmup'); ref=first('reference')
# non-finite values where the journal writes them ("NaN", "inf", "-inf": metrics, envelopes,
# reference wall times), extreme finite ones where it writes plain numbers
p=copy.deepcopy(pair); m=p['metrics']
m.update(max_abs_diff="NaN", p99_abs_diff="inf", mean_abs_diff="-inf", top1_agreement="NaN", kl_mean="inf", kl_p99="NaN", kl_max="-inf", nmse="NaN", drift_curve=["NaN","inf","-inf"], nonfinite_prefill=3, nonfinite_decode=18446744073709551615)
p['envelope']={"max_abs":1e308,"min_top1":-1e308}; p['verdict']='PASS_EQUIV'
r1=copy.deepcopy(run); r1.update(wall_s=0.0, host_wall_s=-0.0, readback_s=5e-324)
r2=copy.deepcopy(run); r2.update(route='decode', wall_s=-1.0, host_wall_s=1e308, step_s=[-1e300,1e300,0.0])
c=copy.deepcopy(cross); c['metrics']['max_abs_diff']="NaN"; c['metrics']['top1_agreement']="-inf"
rf=copy.deepcopy(ref); rf.update(prefill_wall_s="NaN", decode_wall_s="-inf", load_s="inf")
w('journal','nonfinite.jsonl', jl([hdr, rf, sess, r1, r2, p, c, summ]))
# the same strings where plain numbers go: refused at that line
r3=copy.deepcopy(run); r3.update(wall_s="NaN")
w('journal','nonfinite-refused.jsonl', jl([hdr, r3, pair]))
# huge numbers
h=copy.deepcopy(hdr); h['started_unix']=18446744073709551615; h['pairs_planned']=18446744073709551615; h['block_size']=18446744073709551615
p=copy.deepcopy(pair); p.update(span=18446744073709551615, seed=18446744073709551615); p['metrics'].update(positions=18446744073709551615, vocab=18446744073709551615, max_abs_diff=1.7976931348623157e308, mean_abs_diff=5e-324, drift_curve=[1e308]*8)
r=copy.deepcopy(run); r.update(span=18446744073709551615, seed=18446744073709551615, wall_s=1e308, logits_bytes=18446744073709551615, peak_rss_bytes=18446744073709551615)
ss=copy.deepcopy(sess); ss['load_s']=1e308; ss['cost']['product_params']=18446744073709551615; ss['cost']['weight_bytes']=18446744073709551615
ss['peaks']['peaks']['gemm_gflops']=1e-320; ss['peaks']['peaks']['bandwidth_gbs']=0.0; ss['peaks']['peaks']['gemm_shape']=[18446744073709551615,18446744073709551615,18446744073709551615]
w('journal','huge-numbers.jsonl', jl([h, ss, r, p]))
# duplicates: the same pair twice with another verdict, every record twice, a second header
dup_pair=dumps(pair)
p2=copy.deepcopy(pair); p2['verdict']='PASS_EQUIV'
h2=copy.deepcopy(hdr); h2['name']='second'
w('journal','duplicates.jsonl', jl([hdr, sess, sess, run, run, pair, p2, h2, cross, cross, summ, summ]))
# a key twice in one record (serde refuses it)
w('journal','duplicate-key.jsonl', jl([hdr, dup_pair[:-1]+',"verdict":"FAIL_EQUIV","span":4}', summ]))
# an invalid line before the last: an error, not a warning
w('journal','bad-middle-line.jsonl', jl([hdr, sess, '{"type":"pair","backend":"x",', pair]))
# another schema, and no header at all
h=copy.deepcopy(hdr); h['schema_version']=4294967295
w('journal','other-schema.jsonl', jl([h, pair]))
w('journal','no-header.jsonl', jl([warm, ref, pair, cross]))
# CRLF line ends, blank lines, whitespace-only lines
w('journal','crlf-blank-lines.jsonl', '\r\n \r\n'.join([dumps(hdr), dumps(pair), '\t', dumps(summ)]) + '\r\n\r\n')
# a header whose plan has no backends and odd values, then a pair of a backend it does not list
h=copy.deepcopy(hdr); h['plan']['backends']=[]; h['plan']['spans']=[]; h['plan']['required']=['ghost']; h['plan']['optional']=['ghost']; h['plan']['repetitions']=0; h['backends']=[]
p=copy.deepcopy(pair); p['backend']='ghost\n<script>|=cmd'; p['reason']='a|b\n\n# heading'
w('journal','plan-odd.jsonl', jl([h, p]))

# ---------------- bundle
real=[(T+'/sh-out/replay/shifted-f32-span3-kv0-seed0/bundle.json','real-shifted-fixed.json'),
      (T+'/floor-out/replay/shifted-f32-span3-kv0-seed0/bundle.json','real-floor-missing-incomplete.json'),
      (T+'/ff-out/replay/flex-f16-span3-kv1-seed0/bundle.json','real-flex-f16-noise-floor.json')]
for src,name in real: w('bundle', name, open(src).read())
base=json.load(open(T+'/ff-out/replay/flex-f16-span3-kv1-seed0/bundle.json'))
def bvar(name, f, raw=False):
    b=copy.deepcopy(base); out=f(b)
    w('bundle', name, out if raw else json.dumps(b if out is None else out, indent=1))
def tol(b): b['plan']['tolerance']['equiv']['max_abs']=1e308; b['plan']['tolerance']['drift']['min_top1']=-1e308
bvar('tolerance-1e308.json', tol)
def nfs(b):
    b['plan']['tolerance']['equiv']['max_abs']="inf"; b['plan']['tolerance']['equiv']['min_top1']="NaN"
    b['plan']['rule']['k']="NaN"; b['open_timeout_s']="inf"; b['run_timeout_s']="NaN"
    b['record']['metrics']['max_abs_diff']="NaN"; b['record']['metrics']['top1_agreement']="-inf"
bvar('nonfinite-strings.json', nfs)
def nfs_ok(b):
    # values that pass the checks, extreme metrics
    b['record']['metrics']['max_abs_diff']="NaN"; b['record']['metrics']['top1_agreement']="inf"
    b['record']['floor']['prefill']['max_abs_diff']="NaN"; b['record']['floor']['decode']['max_abs_diff']=0.0
    b['plan']['rule']['k']=1e6; b['open_timeout_s']=604800; b['run_timeout_s']=5e-324
bvar('nonfinite-metrics.json', nfs_ok)
def huge(b):
    b['pair']['span']=18446744073709551615; b['pair']['seed']=18446744073709551615; b['vocab']=18446744073709551615
    b['plan']['block_size']=18446744073709551615; b['open_timeout_s']=1e300; b['model']['layers']=4294967296; b['model']['hidden']=18446744073709551615
bvar('huge-numbers.json', huge)
def huge_model(b):
    b['model'].update(layers=1000, hidden=65536, heads=512, kv_heads=512, ffn=1<<20, vocab=1<<24)
bvar('huge-model.json', huge_model)
def zero(b):
    b['pair']['span']=0; b['tokens']=[]; b['vocab']=0; b['plan']['block_size']=0; b['open_timeout_s']=0.0; b['plan']['rule']['k']=0.0
bvar('zeros.json', zero)
def small_ok(b):
    # a valid bundle whose vocab is 0 (the logits files are then empty)
    b['vocab']=0
bvar('vocab-0.json', small_ok)
def dupkeys(b):
    t=json.dumps(b, indent=1)
    return t[:-2]+',\n "format": 2,\n "tokens": [1],\n "pair": {"backend":"x","span":1,"dtype":"f64","kv_aligned":0,"seed":0}\n}'
bvar('duplicate-keys.json', dupkeys, raw=True)
def fmt_new(b): b['format']=4294967296
bvar('format-newer.json', fmt_new)
# format 1, from before f64 logits were kept as f64: the references as .f32 files
def fmt1(b):
    b['format']=1; b['logits']['reference_prefill']='reference_prefill.f32'; b['logits']['reference_decode']='reference_decode.f32'
bvar('format-1-f32-references.json', fmt1)
def names(b):
    b['logits']=dict(layout='x', prefill='../../etc/passwd', decode='/etc/passwd', reference_prefill='.hidden', reference_decode='bundle.json')
bvar('logits-names.json', names)
def names2(b):
    b['logits']=dict(layout='', prefill='prefill.f32', decode='decode.f32', reference_prefill='a\u0000b', reference_decode='..\\x', omitted='too big')
bvar('logits-wrong-size.json', names2)
def gguf(b):
    b['model']={"kind":"gguf","path":""}
bvar('gguf-empty-path.json', gguf)
def gguf2(b):
    b['model']={"kind":"gguf","path":"models/none.gguf"}; b['floor']={"kind":"missing","why":"x"}; b['configured']=None; b['record']['metrics']=None; b['record']['floor']=None
bvar('gguf-no-metrics.json', gguf2)
def tokmis(b): b['tokens']=[0]*7
bvar('tokens-mismatch.json', tokmis)
t=json.dumps(base, indent=1); w('bundle','truncated.json', t[:len(t)//3])
w('bundle','not-object.json', '[1, "format", {"format": 1}]\n')
w('bundle','format-only.json', '{"format": 1}')

# ---------------- diff
def compact_report(p): return json.load(open(p))
def trimmed(p):
    d=json.load(open(p))
    keep=['schema_version','sweep','global','gaps','counts','backends']
    out={k:d[k] for k in keep}
    out['backends']=[{k:b[k] for k in ['name','global','counts','comparisons','performance']} for b in d['backends']]
    for b in out['backends']:
        for r in b['performance']:
            for k in list(r):
                if k not in ('span','dtype','route','wall_mean_s','wall_p95_s','samples'): del r[k]
    return out
full=compact_report(T+'/tinyp-out/report.json')
w('diff','real-report.json', dumps(full))
pas=trimmed(T+'/tinyp-out/report.json'); fail=trimmed(T+'/tiny-out/report.json')
w('diff','real-pass-then-fail.json', dumps(pas)+'\n\0'+dumps(fail)+'\n')
ffr=trimmed(T+'/ff-out/report.json')
w('diff','real-noise-floor-then-pass.json', dumps(ffr)+'\0'+dumps(pas))
# hostile
h=copy.deepcopy(fail)
for b in h['backends']:
    for i,r in enumerate(b['performance']): r['wall_mean_s']=["NaN","inf","-inf",0.0,-1.0,5e-324][i%6]
    for c in b['comparisons']:
        c['metrics'].update(max_abs_diff="NaN", p99_abs_diff="inf", mean_abs_diff="-inf", top1_agreement="NaN", nonfinite_prefill=18446744073709551615)
w('diff','nonfinite.json', dumps(pas)+'\0'+dumps(h))
h=copy.deepcopy(pas)
for b in h['backends']:
    for r in b['performance']: r['wall_mean_s']=1e308; r['span']=18446744073709551615
    for c in b['comparisons']: c.update(span=18446744073709551615, seed=18446744073709551615); c['metrics'].update(max_abs_diff=1e308, top1_agreement=-1e308, kl_max=5e-324)
h2=copy.deepcopy(h)
for b in h2['backends']:
    for r in b['performance']: r['wall_mean_s']=5e-324
    for c in b['comparisons']: c['metrics']['max_abs_diff']=-1e308
w('diff','huge-numbers.json', dumps(h)+'\0'+dumps(h2))
h=copy.deepcopy(fail); h['backends'].append(copy.deepcopy(h['backends'][0]))
w('diff','duplicate-backend.json', dumps(pas)+'\0'+dumps(h))
h=copy.deepcopy(fail); b=h['backends'][0]; b['comparisons'].append(copy.deepcopy(b['comparisons'][0])); b['performance'].append(copy.deepcopy(b['performance'][0]))
w('diff','duplicate-pair.json', dumps(h)+'\0'+dumps(pas))
t=dumps(pas)
# a key twice: the last one counts (serde_json's Value), so both still read
again=dumps(copy.deepcopy(fail)['backends'])
w('diff','duplicate-keys.json', t[:-1]+',"global":"FAIL"}'+'\0'+t[:-1]+',"backends":'+again+'}')
h=copy.deepcopy(pas); h['schema_version']=0
h2=copy.deepcopy(pas); del h2['sweep']; del h2['global']
w('diff','schema-and-missing-keys.json', dumps(h)+'\0'+dumps(h2))
h=copy.deepcopy(pas); h['backends'][0]['comparisons'][0]['metrics']=None; h['backends'][0]['performance'][0]['wall_mean_s']=None
h['backends'][0]['comparisons'][0]['verdict']='SKIPPED'; h['global']='INCOMPLETE'
w('diff','null-metrics-skipped.json', dumps(h)+'\0'+dumps(pas))
w('diff','truncated.json', t[:len(t)//2]+'\0'+t[len(t)//2:])
w('diff','not-reports.json', '[]\0{"schema_version":1,"sweep":{},"global":"PASS","backends":[{"name":"","comparisons":[],"performance":[]}]}\0null')
w('diff','empty-sides.json', '\0')
PY
du -b -c "$corpus"/journal/* "$corpus"/bundle/* "$corpus"/diff/* | tail -1
