#!/bin/bash
# Mailnest beside the servers it replaces, on this machine in one run: SMTP durable
# delivery against Debian's Postfix (delivered into a maildir), and imaptest's
# state-tracking stress against Debian's Dovecot, alternating the two sides in each
# round so that the machine's noise hits both; medians of ROUNDS, then the ratios.
# The references are private instances on 127.0.0.1 started by
# ../shared/tools/bench-reference/setup.sh (run here when they are not up).
# Run after `make build`: scripts/bench-side-by-side.sh [ROUNDS]  (make bench runs it).
# Mailnest runs `serve` in a fresh data folder with ports offset by 40000.
set -u
ROUNDS=${1:-${ROUNDS:-3}}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=$(cd "$ROOT/../shared/tools/bench-reference" && pwd) || { echo "bench-side-by-side: ../shared/tools/bench-reference is missing" >&2; exit 2; }
OFF=40000
# Our password rule refuses Dovecot's `testpass`; each side logs in with its own.
MN_PASS=amber-kettle-violin-42
D=$(mktemp -d /tmp/mailnest-sbs.XXXXXX)
LOG=${SBS_LOG:-/tmp/mailnest-sbs.log}; : >"$LOG"
mn() { "$ROOT/bin/mailnest" "$@" --data "$D"; }
median() { sort -n | awk '{a[NR]=$1} END{ if (NR==0) print 0; else print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
hwm_of() { awk '/^VmHWM:/{printf "%.1f", $2/1024}' /proc/"$1"/status; }
rss_of() { awk '/^VmRSS:/{printf "%.1f", $2/1024}' /proc/"$1"/status; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "n/a"}'; }

if ! "$TOOLS/ref-dovecot.sh" status >/dev/null 2>&1 || ! "$TOOLS/ref-postfix.sh" status >/dev/null 2>&1; then
  "$TOOLS/setup.sh" >"$LOG.setup" 2>&1 || { echo "bench-side-by-side: the reference servers did not start (see $LOG.setup)" >&2; exit 2; }
fi

# DNS (the filter's SPF, DKIM and DMARC lookups) to a closed port on loopback: no query leaves the machine.
mn config set dns-servers 127.0.0.1:9 >/dev/null
mn domain add lab.example >/dev/null
printf '%s\n' "$MN_PASS" | mn user add user@lab.example --password-stdin >/dev/null || exit 2
for i in $(seq 1 100); do printf '%s\n' "$MN_PASS" | mn user add "testuser$i@lab.example" --password-stdin >/dev/null || exit 2; done
"$ROOT/bin/mailnest" serve --data "$D" --port-offset $OFF --listen 127.0.0.1 --log-level warn >"$D.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$D" "$D.log"' EXIT
for _ in $(seq 1 150); do curl -fsS http://127.0.0.1:$((OFF+80))/healthz >/dev/null 2>&1 && break; sleep 0.2; done
sleep 2
echo "idle: mailnest RSS $(rss_of $PID) MB; $("$TOOLS/ref-dovecot.sh" rss 2>&1 | tail -1); $("$TOOLS/ref-postfix.sh" rss 2>&1 | tail -1)" | tee -a "$LOG"

MD=/tmp/mail-lab/dovecot/mail/user/Maildir
inbox() { mn mailbox list user@lab.example --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).find(m=>m.name==="INBOX").messages))'; }
smtp_m=() smtp_p=()
for r in $(seq 1 "$ROUNDS"); do
  before=$(inbox)
  out=$(SMTP_TO=user@lab.example "$TOOLS/smtp-throughput.sh" 127.0.0.1 $((OFF+25)) 2000 20 2>&1)
  m=$(grep '^msgs/s' <<<"$out" | awk '{print $2}')
  got=$(( $(inbox) - before ))
  # smtp-source counts a refused message as sent: only a round where every message reached the INBOX counts.
  [ "$got" -eq 2000 ] || { echo "smtp round $r: only $got of 2000 messages reached the INBOX" | tee -a "$LOG"; m=0; }
  smtp_m+=("$m")
  rm -rf "$MD/new"/* "$MD/cur"/* 2>/dev/null
  out=$(MAILDIR_WATCH=$MD "$TOOLS/smtp-throughput.sh" 127.0.0.1 12525 2000 20 2>&1)
  smtp_p+=("$(grep '^delivered msgs/s' <<<"$out" | awk '{print $3}')")
  echo "smtp round $r: mailnest $m msg/s (250 after fsync and commit); postfix ${smtp_p[-1]} msg/s delivered to maildir" | tee -a "$LOG"
done
sm=$(printf '%s\n' "${smtp_m[@]}" | median); sp=$(printf '%s\n' "${smtp_p[@]}" | median)
echo "after smtp: mailnest peak RSS $(hwm_of $PID) MB" | tee -a "$LOG"

imap_run() { # mode port user-template password
  IMAP_STRESS_MODE=$1 "$TOOLS/imap-stress.sh" 127.0.0.1 "$2" "$3" "$4" 20 10 2>&1 | tee -a "$LOG.imap" | grep -E '^(ops/s|total commands)' | tr '\n' ' '
}
errors_m=0
for mode in steady sessions; do
  ms=() ds=()
  for r in $(seq 1 "$ROUNDS"); do
    a=$(imap_run $mode $((OFF+143)) 'testuser%d@lab.example' "$MN_PASS")
    ms+=("$(sed -nE 's/.*ops\/s: ([0-9.]+).*/\1/p' <<<"$a")")
    e=$(sed -nE 's/.*error lines: ([0-9]+).*/\1/p' <<<"$a"); errors_m=$((errors_m + ${e:-1}))
    b=$(imap_run $mode 11143 testuser testpass)
    ds+=("$(sed -nE 's/.*ops\/s: ([0-9.]+).*/\1/p' <<<"$b")")
    echo "imap $mode round $r: mailnest [$a] dovecot [$b]" | tee -a "$LOG"
  done
  eval "imap_${mode}_m=$(printf '%s\n' "${ms[@]}" | median)"
  eval "imap_${mode}_d=$(printf '%s\n' "${ds[@]}" | median)"
done
peak=$(hwm_of $PID)
echo "after imap: mailnest peak RSS $peak MB, now $(rss_of $PID) MB; $("$TOOLS/ref-dovecot.sh" rss 2>&1 | tail -1)" | tee -a "$LOG"
echo
echo "figure                                   mailnest   reference   ratio"
printf '%-40s %9s %11s %7s\n' "SMTP durable delivery (msg/s)" "$sm" "$sp" "$(ratio "$sm" "$sp")" \
  "imaptest steady, 10 clients (ops/s)" "$imap_steady_m" "$imap_steady_d" "$(ratio "$imap_steady_m" "$imap_steady_d")" \
  "imaptest sessions, 10 clients (ops/s)" "$imap_sessions_m" "$imap_sessions_d" "$(ratio "$imap_sessions_m" "$imap_sessions_d")"
echo "imaptest Error: lines against mailnest: $errors_m; mailnest peak RSS $peak MB (references: Postfix, Dovecot 2.3 on 127.0.0.1; medians of $ROUNDS)"
