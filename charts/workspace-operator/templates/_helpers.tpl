{{/* The chart's name, overridable. */}}
{{- define "workspace-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of the release's objects: the release name, with the chart name appended unless it is already in it.
Truncated to 63 characters, the limit of a DNS label (Service names are one).
*/}}
{{- define "workspace-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "workspace-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object of the chart: commonLabels, then the chart's own, which win, so that commonLabels can never
change which pods the Service and the Deployment select.
*/}}
{{- define "workspace-operator.labels" -}}
{{- $own := dict
  "helm.sh/chart" (include "workspace-operator.chart" .)
  "app.kubernetes.io/version" .Chart.AppVersion
  "app.kubernetes.io/managed-by" .Release.Service
  "app.kubernetes.io/part-of" "workspace-operator" }}
{{- $own = merge $own (include "workspace-operator.selectorLabels" . | fromYaml) }}
{{- merge $own (.Values.commonLabels | default dict) | toYaml }}
{{- end }}

{{/* The labels that select the operator's pods. */}}
{{- define "workspace-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "workspace-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "workspace-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "workspace-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Service in front of the webhook, the accept endpoint and the metrics (WEBHOOK_SERVICE_NAME). */}}
{{- define "workspace-operator.serviceName" -}}
{{- include "workspace-operator.fullname" . }}
{{- end }}

{{/* The ValidatingWebhookConfiguration (WEBHOOK_CONFIGURATION_NAME). */}}
{{- define "workspace-operator.webhookConfigurationName" -}}
{{- default (include "workspace-operator.fullname" .) .Values.webhook.configurationName }}
{{- end }}

{{/* The Secret with the webhook's serving certificate, kept by the operator or by cert-manager. */}}
{{- define "workspace-operator.webhookSecretName" -}}
{{- printf "%s-webhook-tls" (include "workspace-operator.fullname" . | trunc 52 | trimSuffix "-") }}
{{- end }}

{{- define "workspace-operator.certificateName" -}}
{{- printf "%s-webhook" (include "workspace-operator.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{- define "workspace-operator.issuerName" -}}
{{- printf "%s-selfsigned" (include "workspace-operator.fullname" . | trunc 52 | trimSuffix "-") }}
{{- end }}

{{/* The DNS names the webhook certificate must carry: what the API server dials (the operator's defaults too). */}}
{{- define "workspace-operator.webhookDnsNames" -}}
{{- $svc := printf "%s.%s.svc" (include "workspace-operator.serviceName" .) .Release.Namespace }}
- {{ $svc }}
- {{ $svc }}.cluster.local
{{- end }}

{{- define "workspace-operator.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
The link in invitation emails: the value when set; else the Ingress host when the Ingress is on; else empty, and
the operator falls back to the in-cluster Service address (useful only for testing).
*/}}
{{- define "workspace-operator.acceptBaseUrl" -}}
{{- if .Values.invitations.acceptBaseUrl }}
{{- .Values.invitations.acceptBaseUrl }}
{{- else if .Values.ingress.enabled }}
{{- printf "https://%s/accept" .Values.ingress.host }}
{{- end }}
{{- end }}

{{/*
The ClusterRoles the operator binds in account and workspace namespaces. They are cluster-wide, so by default each is
named after the release's full name: two releases (in different namespaces, with different names) then create and
bind roles of their own. The values override the names.
*/}}
{{- define "workspace-operator.accountManagerClusterRole" -}}
{{- .Values.rbac.accountManagerClusterRole | default (printf "%s-account-manager" (include "workspace-operator.fullname" .)) }}
{{- end }}

{{- define "workspace-operator.accountMemberClusterRole" -}}
{{- .Values.rbac.accountMemberClusterRole | default (printf "%s-account-member" (include "workspace-operator.fullname" .)) }}
{{- end }}

{{- define "workspace-operator.staffClusterRole" -}}
{{- .Values.rbac.staffClusterRole | default (printf "%s-workspace-staff" (include "workspace-operator.fullname" .)) }}
{{- end }}

{{- define "workspace-operator.clientClusterRole" -}}
{{- .Values.rbac.clientClusterRole | default (printf "%s-workspace-client" (include "workspace-operator.fullname" .)) }}
{{- end }}

{{/* The ClusterRoles the operator may bind: its `bind` rule names exactly these, and its environment names them. */}}
{{- define "workspace-operator.bindableClusterRoles" -}}
{{- list (include "workspace-operator.accountManagerClusterRole" .) (include "workspace-operator.accountMemberClusterRole" .) (include "workspace-operator.staffClusterRole" .) (include "workspace-operator.clientClusterRole" .) | uniq | toJson }}
{{- end }}

{{/* A probe on the health port: the path is the chart's, the timings are the values'. */}}
{{- define "workspace-operator.probe" -}}
{{- $probe := index . 1 -}}
httpGet:
  path: {{ index . 0 }}
  port: health
initialDelaySeconds: {{ int64 $probe.initialDelaySeconds }}
periodSeconds: {{ int64 $probe.periodSeconds }}
timeoutSeconds: {{ int64 $probe.timeoutSeconds }}
failureThreshold: {{ int64 $probe.failureThreshold }}
{{- end }}

{{/*
The V8 heap size in MiB for a memory limit (a quantity such as 384Mi, 1Gi, 512M or bytes) and a percent; 0 when
the quantity has a form this does not read (a fraction, say), and then the chart sets no heap size.
*/}}
{{- define "workspace-operator.heapMiB" -}}
{{- $q := toString .limit -}}
{{- $mib := 0 -}}
{{- if regexMatch "^[0-9]+Gi$" $q -}}{{- $mib = mul (trimSuffix "Gi" $q | int64) 1024 -}}
{{- else if regexMatch "^[0-9]+Mi$" $q -}}{{- $mib = trimSuffix "Mi" $q | int64 -}}
{{- else if regexMatch "^[0-9]+G$" $q -}}{{- $mib = div (mul (trimSuffix "G" $q | int64) 1000000000) 1048576 -}}
{{- else if regexMatch "^[0-9]+M$" $q -}}{{- $mib = div (mul (trimSuffix "M" $q | int64) 1000000) 1048576 -}}
{{- else if regexMatch "^[0-9]+$" $q -}}{{- $mib = div ($q | int64) 1048576 -}}
{{- end -}}
{{- div (mul $mib .percent) 100 -}}
{{- end }}
