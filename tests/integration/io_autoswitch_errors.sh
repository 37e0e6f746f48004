#!/bin/bash
# io_autoswitch_errors.sh - lesson 05 given bad URLs: one clear line per
# failing URL on stderr, every fetch still attempted, exit status 1; and
# a server that never answers makes --timeout fire. Offline: 127.0.0.1
# and the reserved .invalid domain only.
. "$(dirname "$0")/io_autoswitch_common.bash"

urls=(https://127.0.0.1/ 'http://a b/' ftp://x/ http://nosuch.invalid/ http://127.0.0.1:1/)
timeout 60 "$bin" --no-compare --timeout 5 "${urls[@]}" >"$out/stdout" 2>"$out/stderr"
st=$?
cat "$out/stdout" "$out/stderr"
check "exit status 1 (was $st)" $([ $st -eq 1 ]; echo $?)
check "a GET line per URL" $([ "$(grep -c '^GET: ' "$out/stdout")" -eq ${#urls[@]} ]; echo $?)
check "an error line per URL" $([ "$(wc -l <"$out/stderr")" -eq ${#urls[@]} ]; echo $?)
check "https refused" $(grep -q 'https://127.0.0.1/: https is not supported' "$out/stderr"; echo $?)
check "malformed URL" $(grep -q "http://a b/: bad URL: " "$out/stderr"; echo $?)
check "other scheme" $(grep -q "ftp://x/: bad URL: unsupported scheme" "$out/stderr"; echo $?)
check "unknown host" $(grep -q "http://nosuch.invalid/: cannot resolve nosuch.invalid" "$out/stderr"; echo $?)
check "refused connection" $(grep -q "http://127.0.0.1:1/: cannot connect to 127.0.0.1 port 1: Connection refused" "$out/stderr"; echo $?)

# A listener that accepts and never answers: the read times out.
serve silent perl tests/integration/echo_peer.pl 0 serve silent
timeout 30 "$bin" --no-compare --timeout 0.5 "http://127.0.0.1:$port/" >/dev/null 2>"$out/stderr2"
st=$?
cat "$out/stderr2"
check "timeout: exit status 1 (was $st)" $([ $st -eq 1 ]; echo $?)
check "timeout reported" $(grep -q "reading the response: timed out" "$out/stderr2"; echo $?)
exit $fail
