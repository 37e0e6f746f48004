# check.bash - the integration scripts' one verdict line, sourced once they
# are at the top of the tree:
#   check DESCRIPTION STATUS   "ok: DESCRIPTION" when STATUS is 0, else
#                              "FAILED: DESCRIPTION", and fail=1
#   failures_last              the failed checks again, for a script that
#                              prints more after them: run-all.sh shows the
#                              last 30 lines of a failed script's log
fail=0 failed=
check() {
    if [ "$2" -eq 0 ]; then
        echo "ok: $1"
    else
        echo "FAILED: $1"
        fail=1
        failed+="FAILED: $1"$'\n'
    fi
}
failures_last() { [ -z "$failed" ] || printf -- '---- what failed:\n%s' "$failed"; }
