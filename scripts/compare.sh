#!/usr/bin/env bash
# compare.sh OLD NEW compares two results folders with benchstat (and their
# loadgen runs, where both have them).
source "$(dirname "$0")/lib.sh"
old=${1:?usage: compare.sh OLD_DIR NEW_DIR}
new=${2:?usage: compare.sh OLD_DIR NEW_DIR}
for f in gotest.txt loadgen.txt; do
	if [ -s "$old/$f" ] && [ -s "$new/$f" ]; then
		echo "# $f"
		benchstat "old=$(realpath "$old/$f")" "new=$(realpath "$new/$f")"
		echo
	fi
done
