"""HTTP clients for the partners (Infobip, TCR): timeouts, error parsing, rate limiting; no Kopf."""
