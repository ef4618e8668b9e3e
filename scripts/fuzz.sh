#!/usr/bin/env bash
# Runs every Go fuzz target in turn (go test takes one package per -fuzz run).
#
#   scripts/fuzz.sh ci        each target for a fixed number of executions (what `make test` runs)
#   scripts/fuzz.sh 60s       each target for a wall-clock duration (what `make fuzz` runs)
#
# Why counts in CI: Go before 1.27 has a race in its fuzz coordinator (go.dev/issue/75804): when
# a duration-based -fuzztime expires while a worker is mid-call, the target can fail with a bare
# "context deadline exceeded" although nothing was found. It failed our CI once
# (FuzzParse, 5 s). A count (-fuzztime Nx) sets no deadline, so that race cannot happen; the
# counts below take 1-5 s each on 2 cores, past the seed corpus into mutation.
#
# Duration runs keep the deadline; a failure whose only message is that one, with no new
# crasher written under the package's testdata/fuzz/<target>/, is reported as the Go race and
# not counted. Any other failure, or any new crasher file, fails the run.
#
# Environment: GO (default go), FUZZMINIMIZETIME (default 10s; go's 60s would spend a short run
# minimizing the first inputs derived from the larger seeds).
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
mode=${1:-ci}
minimize=${FUZZMINIMIZETIME:-10s}

# target:package:executions-in-ci
targets=(
	FuzzTraceStream:./cmd/smoothl1:5000
	FuzzParse:./spec:100000
	FuzzRestore:./dynamic:50000
	FuzzSummaryBinary:./dynamic:20000
	FuzzReadCheckpoint:./trainer:10000
	FuzzLoad:./detectors/coco:20000
	FuzzLoadImage:./detectors/coco:5000
	FuzzReadResults:./detectors/coco:20000
	FuzzParseConfig:./experiments:5000
)

case $mode in
ci) minimize=1000x ;; # a count as well: no wall-clock path at all in CI
*[0-9]x) ;;
*[0-9]s | *[0-9]m | *[0-9]h) ;;
*)
	echo "fuzz.sh: argument must be 'ci', a duration (60s, 5m) or a count (10000x), not '$mode'" >&2
	exit 2
	;;
esac

failed=0
flaked=0
for t in "${targets[@]}"; do
	IFS=: read -r name pkg count <<<"$t"
	fuzztime=$mode
	[[ $mode == ci ]] && fuzztime=${count}x
	echo "== $name ($pkg, $fuzztime)"
	corpus="$pkg/testdata/fuzz/$name"
	before=$(ls "$corpus" 2>/dev/null | sort)
	out=$(mktemp)
	"$GO" test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" \
		-parallel 1 "$pkg" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	after=$(ls "$corpus" 2>/dev/null | sort)
	if [[ $rc -ne 0 ]]; then
		new=$(comm -13 <(echo "$before") <(echo "$after"))
		# The race's signature: the target's only failure line is the bare deadline message.
		msgs=$(grep -A3 -- "--- FAIL: $name" "$out" | sed -n '2,$p' | grep -v -e '^FAIL' -e '^exit status' -e '^$' | sed 's/^[[:space:]]*//')
		if [[ -z $new && $mode != ci && $msgs == "context deadline exceeded" ]]; then
			echo "== $name: 'context deadline exceeded' with no crasher: Go's fuzz coordinator race at the -fuzztime deadline (go.dev/issue/75804), not a finding"
			flaked=$((flaked + 1))
		else
			[[ -n $new ]] && echo "== $name: new crasher(s) in $corpus: $new"
			failed=$((failed + 1))
		fi
	fi
	rm -f "$out"
done
echo "== fuzz: ${#targets[@]} targets, $failed failed, $flaked stopped by go.dev/issue/75804"
[[ $failed -eq 0 ]]
