{{/* Names and labels shared by every object of the chart. */}}

{{- define "tendlc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tendlc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tendlc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tendlc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tendlc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tendlc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tendlc
{{- end -}}

{{- define "tendlc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tendlc.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The operator image: by digest when one is given (the tag is then ignored), else by tag. */}}
{{- define "tendlc.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Replicas of the Deployment: one, plus the standbys with ha.enabled (one of them leads). */}}
{{- define "tendlc.replicas" -}}
{{- if .Values.ha.enabled }}{{ add 1 .Values.ha.standbyReplicas }}{{ else }}1{{ end -}}
{{- end -}}

{{/* PromQL label matchers selecting this release's series (see prometheusRule.seriesSelector). */}}
{{- define "tendlc.seriesSelector" -}}
{{- default (printf "namespace=%q,job=%q" .Release.Namespace (include "tendlc.fullname" .)) .Values.prometheusRule.seriesSelector -}}
{{- end -}}

{{/*
Fails the install when a partner URL matches no allowedPartnerHosts entry, with the same rule as
the operator's start-up check: the same scheme, the same port (443/80 by default), and the same
host, where an entry host `*.example.com` stands for exactly one more DNS label. Called with
(dict "url" … "value" "infobip.baseUrl" "allowed" .Values.allowedPartnerHosts).
*/}}
{{- define "tendlc.checkPartnerUrl" -}}
{{- $url := urlParse .url -}}
{{- $defaultPorts := dict "https" "443" "http" "80" -}}
{{- $host := regexReplaceAll ":[0-9]+$" (lower $url.host) "" -}}
{{- $port := default (get $defaultPorts $url.scheme) (regexFind ":[0-9]+$" $url.host | trimPrefix ":") -}}
{{- $allowed := false -}}
{{- range .allowed -}}
{{- $entry := urlParse . -}}
{{- $entryHost := regexReplaceAll ":[0-9]+$" (lower $entry.host) "" -}}
{{- $entryPort := default (get $defaultPorts $entry.scheme) (regexFind ":[0-9]+$" $entry.host | trimPrefix ":") -}}
{{- $hostMatches := eq $host $entryHost -}}
{{- if hasPrefix "*." $entryHost -}}
{{- $suffix := trimPrefix "*" $entryHost -}}
{{- $label := trimSuffix $suffix $host -}}
{{- $hostMatches = and (hasSuffix $suffix $host) (ne $label "") (not (contains "." $label)) -}}
{{- end -}}
{{- if and $hostMatches (eq $url.scheme $entry.scheme) (eq $port $entryPort) -}}
{{- $allowed = true -}}
{{- end -}}
{{- end -}}
{{- if not $allowed -}}
{{- fail (printf "%s %s matches no allowedPartnerHosts entry (%s): add its scheme://host[:port] to allowedPartnerHosts" .value .url (join ", " .allowed)) -}}
{{- end -}}
{{- end -}}

{{/*
Name of the leader-election Lease (release namespace): ha.leaseName, else the deprecated
ha.peeringName (NOTES.txt warns), else the release's full name. The operator's
TENDLC_LEADER_ELECTION_LEASE_NAME and the Role's resourceNames both come from here.
*/}}
{{- define "tendlc.leaseName" -}}
{{- .Values.ha.leaseName | default .Values.ha.peeringName | default (include "tendlc.fullname" .) -}}
{{- end -}}

{{/*
"true" when the Deployment may roll (RollingUpdate): with ha.enabled, and only if the Pods being
replaced elect a leader too. A rolling update overlaps old and new Pods; that is safe only when the
old ones take part in the Lease (the new Pod waits as a standby, the old releases the Lease when it
stops). Upgrading from Pods that do not elect (ha.enabled was off, or a version that used Kopf
peering) would run one of them beside the new leader, so that one upgrade is a Recreate. `lookup`
sees the cluster only during install/upgrade: `helm template` (and GitOps tools rendering with
it) sees no Deployment and renders RollingUpdate; docs/install.md says how to switch safely there.
*/}}
{{- define "tendlc.rollingUpdate" -}}
{{- if .Values.ha.enabled -}}
{{- $current := lookup "apps/v1" "Deployment" .Release.Namespace (include "tendlc.fullname" .) -}}
{{- $elects := not $current -}}
{{- range (dig "spec" "template" "spec" "containers" list ($current | default dict)) -}}
{{- range (.env | default list) -}}
{{- if and (eq .name "TENDLC_LEADER_ELECTION") (eq (toString .value) "true") -}}
{{- $elects = true -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $elects }}true{{ end -}}
{{- end -}}
{{- end -}}

{{/*
Fails the install when the lease timings break the operator's rule (client-go's): lease duration
> renew deadline > 1.2 x retry period. The schema already requires positive numbers and a whole
number of seconds for the lease duration; the relation between them only a template can check.
*/}}
{{- define "tendlc.checkLeaseTimings" -}}
{{- $lease := float64 .Values.ha.leaseDurationSeconds -}}
{{- $renew := float64 .Values.ha.renewDeadlineSeconds -}}
{{- $retry := float64 .Values.ha.retryPeriodSeconds -}}
{{- if not (gt $lease $renew) -}}
{{- fail (printf "ha.leaseDurationSeconds (%v) must be greater than ha.renewDeadlineSeconds (%v): the difference is the margin that keeps two leaders apart" .Values.ha.leaseDurationSeconds .Values.ha.renewDeadlineSeconds) -}}
{{- end -}}
{{- if not (gt $renew (mulf 1.2 $retry)) -}}
{{- fail (printf "ha.renewDeadlineSeconds (%v) must be greater than 1.2 times ha.retryPeriodSeconds (%v): the leader needs room for a retry (with jitter) before its deadline" .Values.ha.renewDeadlineSeconds .Values.ha.retryPeriodSeconds) -}}
{{- end -}}
{{- end -}}

{{/*
Names of the operator's own Secrets (partner credentials, webhook auth), read in the release
namespace. With a namespaces list, the Role there is limited to exactly these names.
*/}}
{{- define "tendlc.ownSecretNames" -}}
{{- $names := list -}}
{{- range (list .Values.infobip.credentialsSecret .Values.tcr.credentialsSecret .Values.webhook.authSecret) -}}
{{- if . -}}{{- $names = append $names . -}}{{- end -}}
{{- end -}}
{{- $names | uniq | toJson -}}
{{- end -}}

{{/* The rules every scope gets (cluster-wide, or per watched namespace). See rbac.yaml. */}}
{{- define "tendlc.resourceRules" -}}
# Kopf's watch (list, watch); re-reading one resource (get); Kopf removing a pre-release
# build's tendlc.io/finalizer (patch). docs/install.md, "RBAC granted".
- apiGroups: ["tendlc.io"]
  resources: ["campaignmigrations"]
  verbs: ["get", "list", "watch", "patch"]
# The reconciler's status writes, the exactly-once marker among them.
- apiGroups: ["tendlc.io"]
  resources: ["campaignmigrations/status"]
  verbs: ["patch"]
# The wave controller: Kopf's watch of MigrationWaves (list, watch), re-reading one after a lost
# fenced write (get), and its status writes. A wave never writes its members: they read what
# it allows in memory and record their release in their own status.
- apiGroups: ["tendlc.io"]
  resources: ["migrationwaves"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["tendlc.io"]
  resources: ["migrationwaves/status"]
  verbs: ["patch"]
# tendlc.events posts Events with stable reasons (POST only), on CampaignMigrations and MigrationWaves.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
# LOA Secrets and per-resource credentials Secrets, read one by one by name (never listed).
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- with .Values.cutover.configMapNames }}
# Cut-over routing tables, by name only (spec.cutover.configMap; each must also be labeled
# tendlc.io/usage=cutover): read, then one key set by a merge patch fenced by its resourceVersion.
- apiGroups: [""]
  resources: ["configmaps"]
  resourceNames: {{ toJson . }}
  verbs: ["get", "patch"]
{{- end }}
{{- end -}}

{{/* Labels of the `helm test` Pod (the NetworkPolicy admits it to the metrics port). */}}
{{- define "tendlc.testSelectorLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: helm-test
{{- end -}}
