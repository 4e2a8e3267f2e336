{{/* Labels of one alert: its severity and alerts.ruleLabels; call with (list severity $.Values.alerts). */}}
{{- define "inferpipe.alertLabels" -}}
severity: {{ index . 0 }}
{{- with (index . 1).ruleLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}
