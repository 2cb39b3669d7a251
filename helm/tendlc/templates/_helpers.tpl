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

{{- define "tendlc.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "tendlc.peeringName" -}}
{{- default (include "tendlc.fullname" .) .Values.ha.peeringName -}}
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
- apiGroups: ["tendlc.io"]
  resources: ["campaignmigrations"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["tendlc.io"]
  resources: ["campaignmigrations/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- end -}}
