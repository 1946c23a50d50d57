#!/usr/bin/env bash
# Second-machine check of README "Sharing results with a team":
#   host 1 pushes commit $COMMIT's DVC outputs to a team store; a fresh "second host" (own net/UTS/mount/PID/IPC
#   namespaces, other user, path, HOME, one thread, no /work, no local package folders) gets everything only over
#   HTTP from 10.77.0.1: git (dumb HTTP), the DVC store (DVC http remote) and the pinned wheels (pip --find-links).
# Re-runnable; run as root from a project whose DVC cache holds the commit's outputs (after `dvc repro`):
#   sudo bash tools/second_host_check.sh            # COMMIT=<rev> to check another commit; log: /tmp/secondhost/check.log
# Needs iproute2 (ip netns), util-linux (unshare, setpriv), git, python3 and ~2 GB in /tmp for the wheel mirror.
set -euo pipefail

SH=/tmp/secondhost
REPO=${REPO:-$(cd "$(dirname "$0")/.." && pwd)}
COMMIT=${COMMIT:-$(git -C "$REPO" rev-parse HEAD)}
H1=$SH/h1
STORE=$SH/teamstore
SRV=$SH/srv
WH=$SH/wheelhouse
DVC1=$REPO/.venv/bin/dvc
PY1=$REPO/.venv/bin/python
NS=host2
H1IP=10.77.0.1
H2IP=10.77.0.2
PGIT=8481 PDVC=8482 PWHL=8483
TUSER=teammate
THOME=/home/$TUSER
TPROJ=$THOME/work/project
PY2SRC=/root/.pyenv/versions/3.11.7   # a CPython >= 3.11.5 (shared build, absolute rpath: mounted at the same path, read-only)
PY2=$PY2SRC/bin/python3.11

exec > >(tee "$SH/check.log") 2>&1
say() { printf '\n=== %s  [%s]\n' "$*" "$(date -u +%H:%M:%S)"; }

SERVER_PIDS=()
cleanup() {
  rc=$?
  say "cleanup (exit status $rc)"
  for p in "${SERVER_PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null && echo "stopped http server pid $p"; done
  if ip netns list | grep -qw "$NS"; then
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    ip netns del "$NS" && echo "netns $NS deleted"
  fi
  ip link del veth-h1 2>/dev/null || true
  exit $rc
}
trap cleanup EXIT

# stale state from an interrupted earlier run
ip netns list | grep -qw "$NS" && ip netns del "$NS"
ip link del veth-h1 2>/dev/null || true

say "host 1 facts"
echo "hostname=$(hostname) user=$(id -un) uid=$(id -u) nproc=$(nproc) OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset}"
"$DVC1" version | sed -n '1,3p;/Supports/,/https/p'

say "1. host 1: clone, checkout $COMMIT, fill workspace from $REPO/.dvc/cache, push to team store"
rm -rf "$H1" "$STORE"
git clone -q "$REPO" "$H1"
cd "$H1"
git checkout -q "$COMMIT"
git log -1 --format='HEAD %H %s'
"$DVC1" cache dir --local $REPO/.dvc/cache
"$DVC1" checkout
"$DVC1" remote add --local team "$STORE"
"$DVC1" push -r team
echo "--- dvc status -c -r team"
"$DVC1" status -c -r team
echo "--- dvc status (host 1)"
"$DVC1" status
echo "--- team store: $(find "$STORE" -type f | wc -l) files, $(du -sh "$STORE" | cut -f1)"

# manifest: sha256 of every file of every output in dvc.lock (stdlib + yaml of whichever venv runs it)
cat > "$SH/manifest.py" <<'EOF'
import hashlib, os, sys, yaml
lock = yaml.safe_load(open('dvc.lock'))
outs = sorted({o['path'] for st in lock['stages'].values() for o in st.get('outs', [])})
missing, lines = [], []
for p in outs:
    if not os.path.exists(p):
        missing.append(p); continue
    files = [p] if os.path.isfile(p) else sorted(os.path.join(r, f) for r, _, fs in os.walk(p) for f in fs)
    for f in files:
        lines.append(f"{hashlib.sha256(open(f, 'rb').read()).hexdigest()}  {f}")
print('\n'.join(lines))
print(f"# {len(outs)} outputs in dvc.lock, {len(lines)} files, missing: {missing or 'none'}", file=sys.stderr)
EOF
"$PY1" "$SH/manifest.py" > "$SH/manifest-h1.txt"
sha256sum models/model.skops models/model.json reports/metrics.json | tee "$SH/key-h1.txt"

say "2. package mirror: the pinned wheels of requirements.lock + requirements-docs.lock at $COMMIT"
mkdir -p "$WH"
git show "$COMMIT:requirements.lock" > "$SH/req.lock"
git show "$COMMIT:requirements-docs.lock" > "$SH/req-docs.lock"
"$PY1" -m pip download --no-deps -q -d "$WH" -r "$SH/req.lock" -r "$SH/req-docs.lock" 2>&1 \
  | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
echo "wheelhouse: $(ls "$WH" | wc -l) files ($(ls "$WH" | grep -vc '\.whl$') not wheels), $(du -sh "$WH" | cut -f1)"
echo "--- pinned wheels whose Requires-Python excludes Debian 12's python3 $(/usr/bin/python3 -V | cut -d' ' -f2):"
"$PY1" - "$WH" "$(/usr/bin/python3 -V | cut -d' ' -f2)" <<'EOF2'
import email, sys, zipfile, pathlib
from packaging.specifiers import SpecifierSet
wh, ver = pathlib.Path(sys.argv[1]), sys.argv[2]
for w in sorted(wh.glob('*.whl')):
    z = zipfile.ZipFile(w)
    meta = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
    rp = email.message_from_bytes(z.read(meta)).get('Requires-Python')
    if rp and ver not in SpecifierSet(rp): print(f"  {w.name}: Requires-Python {rp}")
EOF2

say "3. git server content: bare repo with the pushed commit, dumb HTTP"
rm -rf "$SRV"; mkdir -p "$SRV/git"
git init -q --bare "$SRV/git/project.git"
git -C "$H1" push -q "$SRV/git/project.git" "$COMMIT:refs/heads/main"
git -C "$SRV/git/project.git" symbolic-ref HEAD refs/heads/main
git -C "$SRV/git/project.git" update-server-info
git -C "$SRV/git/project.git" log -1 --format='bare main = %H'

say "4. network: netns $NS, veth pair $H1IP (host 1) <-> $H2IP ($NS)"
ip netns add "$NS"
ip link add veth-h1 type veth peer name veth-h2
ip link set veth-h2 netns "$NS"
ip addr add "$H1IP/24" dev veth-h1
ip link set veth-h1 up
ip netns exec "$NS" ip addr add "$H2IP/24" dev veth-h2
ip netns exec "$NS" ip link set veth-h2 up
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip -br addr
ip netns exec "$NS" ip route

/usr/bin/python3 -m http.server --bind "$H1IP" "$PGIT" --directory "$SRV/git" > "$SH/http-git.log" 2>&1 & SERVER_PIDS+=($!)
/usr/bin/python3 -m http.server --bind "$H1IP" "$PDVC" --directory "$STORE"   > "$SH/http-dvc.log" 2>&1 & SERVER_PIDS+=($!)
/usr/bin/python3 -m http.server --bind "$H1IP" "$PWHL" --directory "$WH"      > "$SH/http-whl.log" 2>&1 & SERVER_PIDS+=($!)
for port in $PGIT $PDVC $PWHL; do
  for i in $(seq 50); do curl -s -o /dev/null "http://$H1IP:$port/" && break; sleep 0.2; done
done
echo "http servers: git :$PGIT, dvc store :$PDVC (read-only, GET/HEAD only), wheels :$PWHL  pids ${SERVER_PIDS[*]}"

say "5. second host user $TUSER, fresh HOME state"
id "$TUSER" >/dev/null 2>&1 || useradd -m -s /bin/bash "$TUSER"
id "$TUSER"
rm -rf "$THOME/work" "$THOME/.cache" "$THOME/.config" "$THOME/.local" "$THOME/.gitconfig" "$THOME/h2.sh"

# what the teammate types (runs as $TUSER inside the namespaces)
cat > "$THOME/h2.sh" <<EOF
set -euo pipefail
say() { printf '\n=== %s  [%s]\n' "\$*" "\$(date -u +%H:%M:%S)"; }
say "host 2 facts"
echo "hostname=\$(hostname) user=\$(id -un) uid=\$(id -u) HOME=\$HOME nproc=\$(nproc) affinity=\$(taskset -pc \$\$ | sed 's/.*: //') OMP_NUM_THREADS=\$OMP_NUM_THREADS"
echo "python3=\$(command -v python3) \$(python3 -V)"
echo "/work: \$(ls -A /work | wc -l) entries; /tmp: \$(ls -A /tmp | wc -l) entries; /opt/wheels: \$(ls -A /opt/wheels | wc -l); /opt/pypi: \$(ls -A /opt/pypi | wc -l); /var/tmp: \$(ls -A /var/tmp | wc -l)"
echo "pip config: \$(python3 -m pip config list 2>&1 | tr '\n' ' ' || true) [none expected]"
echo -n "internet (pypi.org): "; curl -sS -m 5 -o /dev/null https://pypi.org/simple/ 2>&1 | head -1 || true
echo -n "host 1 git server: "; curl -s -o /dev/null -w '%{http_code}\n' http://$H1IP:$PGIT/project.git/info/refs

say "git clone over dumb HTTP + checkout $COMMIT"
mkdir -p $THOME/work && cd $THOME/work
git clone -q http://$H1IP:$PGIT/project.git project
cd project
git -c advice.detachedHead=false checkout -q $COMMIT
git log -1 --format='HEAD %H'
pwd

say "make .venv/.installed  (the pinned set; pip only sees http://$H1IP:$PWHL/)"
export PIP_NO_INDEX=1 PIP_FIND_LINKS=http://$H1IP:$PWHL/ PIP_TRUSTED_HOST=$H1IP PIP_DISABLE_PIP_VERSION_CHECK=1
if time make .venv/.installed; then echo "pinned set installed with Debian's python3"; else
  echo "FAILED: the pinned set does not install with this machine's python3 (\$(python3 -V)); retrying with CPython 3.11.7"
  rm -rf .venv
  time make PYTHON=$PY2 .venv/.installed
fi
export PATH=\$PWD/.venv/bin:\$PATH
python - <<'PY'
import importlib.metadata as md, re
bad, n = [], 0
for f in ('requirements.lock', 'requirements-docs.lock'):
    for line in open(f):
        line = line.split('#')[0].strip()
        if not line: continue
        name, ver = line.split('==')
        n += 1
        try: got = md.version(name)
        except md.PackageNotFoundError: got = None
        if got != ver: bad.append((name, ver, got))
print(f"pins checked: {n}, not installed at the pinned version: {bad or 'none'}")
print("mlworkbench", md.version('mlworkbench'))
PY
dvc version | sed -n '1,3p;/Supports/,/https/p'

say "dvc remote add --local -d teamhttp http://$H1IP:$PDVC/ ; dvc pull"
dvc remote add --local -d teamhttp http://$H1IP:$PDVC/
cat .dvc/config.local
dvc pull
say "dvc status"
dvc status
echo "git status --porcelain after dvc pull: \$(git status --porcelain | wc -l) lines"
say "dvc data status"
dvc data status
say "dvc status -c (workspace cache vs teamhttp)"
dvc status -c
say "dvc repro --dry"
dvc repro --dry 2>&1 | tee /tmp/repro-dry.txt
echo "--- stages dvc repro --dry would run: \$(grep -c "^Running stage" /tmp/repro-dry.txt || true): \$(grep "^Running stage" /tmp/repro-dry.txt | tr '\n' ' ')"
say "manifest"
python /tmp/manifest.py > $THOME/work/manifest-h2.txt
sha256sum models/model.skops models/model.json reports/metrics.json | tee $THOME/work/key-h2.txt

say "serve: mlwb registry register --alias champion; mlwb serve --port 18444; POST /predict"
mlwb registry register --alias champion
mlwb serve --port 18444 > $THOME/work/serve.log 2>&1 &
SPID=\$!
for i in \$(seq 120); do curl -s -o /dev/null http://127.0.0.1:18444/health && break; sleep 0.5; done
echo "health: \$(curl -s -w ' %{http_code}' http://127.0.0.1:18444/health)"
python - > /tmp/row.json <<'PY'
import json, pandas as pd
d = pd.read_parquet('data/prepared/test.parquet')
feats = [c for c in d.columns if c not in ('arr_delay', 'time_hour')]
row = d.iloc[0][feats]
rec = {k: (None if pd.isna(v) else (v.item() if hasattr(v, 'item') else v)) for k, v in row.items()}
print(json.dumps({"records": [rec]}))
PY
cat /tmp/row.json; echo
curl -s -o /tmp/predict.out -w '%{http_code}' http://127.0.0.1:18444/predict -H 'content-type: application/json' --data @/tmp/row.json > /tmp/predict.code
echo "POST /predict -> HTTP \$(cat /tmp/predict.code): \$(cat /tmp/predict.out)"
kill -TERM \$SPID; wait \$SPID || true
tail -5 $THOME/work/serve.log
echo "git status --porcelain after register + serve: \$(git status --porcelain | wc -l) lines"
test "\$(cat /tmp/predict.code)" = 200
echo "host 2 done"
EOF
chown "$TUSER:$TUSER" "$THOME/h2.sh"

say "6. second host: ip netns exec $NS + unshare uts/mount/pid/ipc, /work /tmp /opt/{wheels,pypi,pypi-more} /var/tmp /root /etc/xdg/pip hidden; only $PY2SRC shown (ro)"
# root part inside the namespaces: hide this machine's state, then become the teammate
ip netns exec "$NS" unshare --uts --mount --pid --ipc --fork --mount-proc --propagation private \
  /bin/bash -euo pipefail -c "
    hostname teammate-box
    mkdir -p $SH/pystage; mount --bind $PY2SRC $SH/pystage; mount -o remount,bind,ro $SH/pystage
    mount -t tmpfs -o mode=0755 tmpfs /root; mkdir -p $PY2SRC; mount --move $SH/pystage $PY2SRC
    for d in /work /tmp /var/tmp; do mount -t tmpfs -o mode=1777 tmpfs \$d; done
    for d in /opt/wheels /opt/pypi /opt/pypi-more /etc/xdg/pip; do mount -t tmpfs -o mode=0755 tmpfs \$d; done
    mount --bind /dev/null /etc/pip.conf
    echo \"host 2 mounts: \$(findmnt -rn -o TARGET | grep -E '^/(work|tmp|var/tmp|opt|root|etc)' | tr '\\n' ' ')\"
    cp /dev/stdin /tmp/manifest.py; chmod 644 /tmp/manifest.py
    exec env -i HOME=$THOME USER=$TUSER LOGNAME=$TUSER SHELL=/bin/bash LANG=C.UTF-8 TERM=dumb \
      PATH=/usr/local/bin:/usr/bin:/bin OMP_NUM_THREADS=1 \
      taskset -c 1 setpriv --reuid=$TUSER --regid=$TUSER --init-groups /bin/bash $THOME/h2.sh
  " < "$SH/manifest.py"

say "7. compare host 1 and host 2"
cp "$THOME/work/manifest-h2.txt" "$THOME/work/key-h2.txt" "$SH/"
echo "host 1 manifest: $(wc -l < "$SH/manifest-h1.txt") files; host 2 manifest: $(wc -l < "$SH/manifest-h2.txt") files"
if diff "$SH/manifest-h1.txt" "$SH/manifest-h2.txt"; then echo "MANIFESTS IDENTICAL (every file of every dvc.lock output, sha256)"; else echo "MANIFESTS DIFFER"; exit 1; fi
paste "$SH/key-h1.txt" "$SH/key-h2.txt"
diff "$SH/key-h1.txt" "$SH/key-h2.txt" && echo "KEY FILES IDENTICAL"
say "all checks passed"
