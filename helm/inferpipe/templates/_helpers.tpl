{{/* Chart name. */}}
{{- define "inferpipe.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped base name; services append their own suffix. */}}
{{- define "inferpipe.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object; call with (dict "root" $ "component" "producer-api"). */}}
{{- define "inferpipe.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "inferpipe.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: inferpipe
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "inferpipe.selectorLabels" -}}
app.kubernetes.io/name: {{ include "inferpipe.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "inferpipe.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .component (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}

{{- define "inferpipe.secretName" -}}
{{- default (printf "%s-secrets" (include "inferpipe.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "inferpipe.serviceAccountName" -}}
{{- printf "%s-%s" (include "inferpipe.fullname" .root) .component -}}
{{- end -}}

{{/*
Environment every service reads (names as in the code's *_ENV constants; a test in deploy/
checks that the chart sets no name the services do not read).
*/}}
{{- define "inferpipe.commonEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ .Values.kafka.bootstrapServers | quote }}
{{- with .Values.kafka.securityProtocol }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.kafka.saslMechanism }}
- name: KAFKA_SASL_MECHANISM
  value: {{ . | quote }}
{{- end }}
{{- with .Values.kafka.saslClientCallbackHandlerClass }}
- name: KAFKA_SASL_CLIENT_CALLBACK_HANDLER_CLASS
  value: {{ . | quote }}
{{- end }}
{{- if .Values.kafka.truststoreSecret }}
- name: KAFKA_SSL_TRUSTSTORE_LOCATION
  value: /etc/inferpipe/truststore/truststore.jks
{{- end }}
- name: KAFKA_SASL_JAAS_CONFIG
  valueFrom:
    secretKeyRef:
      name: {{ include "inferpipe.secretName" . }}
      key: kafkaSaslJaasConfig
      optional: true
- name: KAFKA_SSL_TRUSTSTORE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "inferpipe.secretName" . }}
      key: kafkaSslTruststorePassword
      optional: true
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ include "inferpipe.secretName" . }}
      key: awsAccessKeyId
      optional: true
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "inferpipe.secretName" . }}
      key: awsSecretAccessKey
      optional: true
- name: INFERPIPE_TOPIC_REQUESTS
  value: {{ .Values.kafka.topics.requests | quote }}
- name: INFERPIPE_TOPIC_OUTPUTS
  value: {{ .Values.kafka.topics.outputs | quote }}
- name: INFERPIPE_TOPIC_STATUS
  value: {{ .Values.kafka.topics.status | quote }}
- name: INFERPIPE_TOPIC_DLQ
  value: {{ .Values.kafka.topics.dlq | quote }}
- name: INFERPIPE_S3_BUCKET
  value: {{ .Values.s3.bucket | quote }}
- name: INFERPIPE_S3_REGION
  value: {{ .Values.s3.region | quote }}
{{- with .Values.s3.endpoint }}
- name: INFERPIPE_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: INFERPIPE_S3_PATH_STYLE
  value: {{ .Values.s3.pathStyle | quote }}
- name: INFERPIPE_S3_PRESIGN_TTL
  value: {{ .Values.s3.presignTtl | quote }}
{{- with .Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: OTEL_TRACES_SAMPLER
  value: {{ .Values.otel.sampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ .Values.otel.samplerArg | quote }}
{{- with .Values.otel.resourceAttributes }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ . | quote }}
{{- end }}
- name: LOG_FORMAT
  value: {{ .Values.logs.format | quote }}
- name: LOG_LEVEL
  value: {{ .Values.logs.level | quote }}
- name: JAVA_TOOL_OPTIONS
  value: "-XX:MaxRAMPercentage=75 -Djava.io.tmpdir=/tmp"
{{- end -}}

{{- define "inferpipe.truststoreVolume" -}}
{{- if .Values.kafka.truststoreSecret }}
- name: truststore
  secret:
    secretName: {{ .Values.kafka.truststoreSecret }}
{{- end }}
{{- end -}}

{{- define "inferpipe.truststoreMount" -}}
{{- if .Values.kafka.truststoreSecret }}
- name: truststore
  mountPath: /etc/inferpipe/truststore
  readOnly: true
{{- end }}
{{- end -}}
