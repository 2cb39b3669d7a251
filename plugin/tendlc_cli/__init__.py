"""`kubectl tendlc`: the platform team's command line for tendlc CampaignMigrations.

It turns an inventory into manifests (`plan`), summarises a fleet (`status`), tells the story of
one migration (`why`), sets the control annotations with checks (`retry`, `suspend`, `resume`,
`confirm-osr`) and writes an audit record (`report`). It talks to whatever cluster kubectl points
at through the official, synchronous `kubernetes` client. It reads the resource's vocabulary
(models, constants) from `tendlc.api` and must import nothing else of the operator; it never
prints, logs or stores the content of a Secret.
"""
