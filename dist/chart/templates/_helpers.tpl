{{/* Labels on every object of the chart. */}}
{{- define "scopegate.labels" -}}
app.kubernetes.io/name: scopegate
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The manager's pods. */}}
{{- define "scopegate.selector" -}}
app.kubernetes.io/name: scopegate
app.kubernetes.io/component: manager
{{- end -}}

{{/* https, or http with tls.mode off. */}}
{{- define "scopegate.scheme" -}}
{{- if eq .Values.tls.mode "off" }}http{{ else }}https{{ end -}}
{{- end -}}

{{- define "scopegate.issuer" -}}
{{- .Values.issuer | default (printf "%s://scopegate.%s.svc:8080" (include "scopegate.scheme" .) .Release.Namespace) -}}
{{- end -}}

{{- define "scopegate.gatewayURL" -}}
{{- .Values.gatewayURL | default (printf "%s://scopegate.%s.svc:8000" (include "scopegate.scheme" .) .Release.Namespace) -}}
{{- end -}}
