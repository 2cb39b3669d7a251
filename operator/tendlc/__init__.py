"""tendlc: a Kubernetes operator that migrates US 10DLC campaigns to Infobip."""
