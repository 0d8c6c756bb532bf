#!/bin/sh
# coldstart.sh: how long each function's package initialisation takes, the
# part of a Lambda cold start that its code decides (the SDK's service
# packages cost milliseconds each). It builds every functions/<name> for
# this machine, runs each binary RUNS times with GODEBUG=inittrace=1 and
# an empty environment, and prints per function the sum of the init times
# of all its packages (median and fastest run, in ms), the memory those
# inits allocate, and the binary's size.
#
# Without its settings (SLIPWAY_CONFIG, the Lambda runtime API) a main
# stops right after init, so what is measured is package init, not a wait
# for the runtime. The numbers are this machine's; compare runs on one
# machine, not across machines.
#
# Usage: scripts/coldstart.sh [function...]   (RUNS=15 by default)
set -eu

cd "$(dirname "$0")/.."
RUNS=${RUNS:-15}
GO=${GO:-go}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT INT TERM

if [ $# -eq 0 ]; then
	for d in functions/*/; do
		d=${d%/}
		set -- "$@" "${d#functions/}"
	done
fi

printf '%-14s %9s %9s %10s %9s\n' function median_ms min_ms init_MB binary_MB
for f in "$@"; do
	CGO_ENABLED=0 "$GO" build -tags lambda.norpc -trimpath -o "$out/$f" "./functions/$f"
	i=0
	: >"$out/$f.runs"
	while [ "$i" -lt "$RUNS" ]; do
		# One line per package: "init <pkg> @<t> ms, <clock> ms clock, <bytes> bytes, <n> allocs".
		env -i GODEBUG=inittrace=1 "$out/$f" 2>&1 >/dev/null |
			awk '$1 == "init" { ms += $5; bytes += $8 } END { printf "%.3f %d\n", ms, bytes }' >>"$out/$f.runs"
		i=$((i + 1))
	done
	size=$(wc -c <"$out/$f")
	sort -n "$out/$f.runs" | awk -v f="$f" -v size="$size" '
		{ ms[NR] = $1; mb = $2 / 1e6 }
		END {
			med = (NR % 2) ? ms[(NR + 1) / 2] : (ms[NR / 2] + ms[NR / 2 + 1]) / 2
			printf "%-14s %9.1f %9.1f %10.1f %9.1f\n", f, med, ms[1], mb, size / 1048576
		}'
done
