"""HTTP clients for the partners (Infobip, TCR): timeouts, error parsing, rate limiting; no Kopf.

Rooms: `problems` (pure parsers of partner error bodies and `Retry-After`), `http` (the one request
path: limiter, timeout, observer, status → error), `ratelimit` (shared token buckets per partner
account and endpoint class), `credentials` (secrets that never print), `models` (tolerant pydantic
models of partner payloads), `import_answers` (the tolerant reader of the undocumented import
answer), `owned_numbers` (confirming an import through the published owned-numbers list, shared
per account), `infobip` and `tcr` (one method per partner operation). Failures are
raised as the errors of `tendlc.partner_errors`. Clients never retry and never log bodies or
credentials.
"""
