# S7: abusive parameters, all answered 400, against S2's normal request.
abusive=(
  '/api/v3/myrequests?per_page=1000000'
  '/api/v3/myrequests?per_page=0'
  '/api/v3/myrequests?per_page=-1'
  '/api/v3/myrequests?requests_page=0'
  '/api/v3/myrequests?requests_page=99999999999999999999'
  '/api/v3/myrequests?certificates_page=1000001'
  '/api/v3/myrequests?per_page=abc'
  '/api/v3/myrequests?status=bogus'
)
for round in $(seq "$rounds"); do
  wrk_get S7 abusive "$round" 400 "$connections" "$base" "$light_token" "${abusive[@]}"
done
summarize '{s7_rps: med("S7"; "abusive"; "rps"), s7_p50_ms: med("S7"; "abusive"; "p50_ms")}
  | . + {s7_cost_vs_s2: ratio($s.s2_rps; .s7_rps)}'
table_row '["S7", "abusive params (400)", "\(.s7_rps) rps, p50 \(.s7_p50_ms) ms", "S2 \(.s2_rps) rps", "cost \(.s7_cost_vs_s2) x S2", "400, <= 1"]'
