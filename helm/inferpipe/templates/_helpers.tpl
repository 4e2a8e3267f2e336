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

{{/* Key of a service's block in values: producer-api -> producerApi; call with the ctx dict. */}}
{{- define "inferpipe.valuesKey" -}}
{{- index (dict "producer-api" "producerApi" "gpu-consumer" "gpuConsumer" "storage-sink" "storageSink" "webhook-notifier" "webhookNotifier") .component -}}
{{- end -}}

{{/*
The Secret of one service (Kafka SASL JAAS config, truststore password, static S3 credentials):
secrets.<service>.existingSecret, or <fullname>-<service>-secrets (made by the chart when
secrets.<service>.create). Each Deployment reads only its own. Call with the ctx dict.
*/}}
{{- define "inferpipe.secretName" -}}
{{- $secret := index .root.Values.secrets (include "inferpipe.valuesKey" .) -}}
{{- default (printf "%s-%s-secrets" (include "inferpipe.fullname" .root) .component) $secret.existingSecret -}}
{{- end -}}

{{/* Fails on the shared Secret of chart 0.1 (one login for all the services). */}}
{{- define "inferpipe.checkLegacySecrets" -}}
{{- range $key := list "existingSecret" "create" "values" }}
{{- if hasKey $.Values.secrets $key }}
{{- fail (printf "secrets.%s is no longer supported: every service has its own Secret. Set secrets.producerApi, secrets.gpuConsumer, secrets.storageSink and secrets.webhookNotifier (each with existingSecret, or create and values) instead; see docs/DEPLOY.md" $key) }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Fails unless a keys value is base64 of at least 32 bytes; call with (list "keys.signingKey" value). */}}
{{- define "inferpipe.checkKey" -}}
{{- $name := index . 0 -}}
{{- $value := trim (index . 1) -}}
{{- if ne (b64enc (b64dec $value)) $value -}}
{{- fail (printf "%s is not valid base64 (generate one with: openssl rand -base64 32)" $name) -}}
{{- end -}}
{{- if lt (len (b64dec $value)) 32 -}}
{{- fail (printf "%s decodes to %d bytes; at least 32 are required (openssl rand -base64 32)" $name (len (b64dec $value))) -}}
{{- end -}}
{{- end -}}

{{/*
The Secret with the record-signing and hashing keys (keys `signing-key`, `hash-key`), read by
producer-api and gpu-consumer only: keys.existingSecret, or <fullname>-keys made by the chart from
keys.signingKey and keys.hashKey. Rendering fails when neither is given: the services do not start
without both keys.
*/}}
{{- define "inferpipe.keysSecretName" -}}
{{- $keys := .Values.keys -}}
{{- if and $keys.existingSecret (or $keys.signingKey $keys.hashKey) -}}
{{- fail "keys: set either keys.existingSecret or keys.signingKey and keys.hashKey, not both" -}}
{{- else if $keys.existingSecret -}}
{{- $keys.existingSecret -}}
{{- else if and $keys.signingKey $keys.hashKey -}}
{{- include "inferpipe.checkKey" (list "keys.signingKey" $keys.signingKey) -}}
{{- include "inferpipe.checkKey" (list "keys.hashKey" $keys.hashKey) -}}
{{- if eq (trim $keys.signingKey) (trim $keys.hashKey) -}}
{{- fail "keys.signingKey and keys.hashKey must be different keys" -}}
{{- end -}}
{{- printf "%s-keys" (include "inferpipe.fullname" .) -}}
{{- else -}}
{{- fail "keys: the record-signing and hashing keys are required. Set keys.existingSecret to a Secret with the keys signing-key and hash-key, or set both keys.signingKey and keys.hashKey (each from: openssl rand -base64 32). See docs/DEPLOY.md" -}}
{{- end -}}
{{- end -}}

{{/* INFERPIPE_SIGNING_KEY and INFERPIPE_HASH_KEY: producer-api and gpu-consumer only. */}}
{{- define "inferpipe.keysEnv" -}}
- name: INFERPIPE_SIGNING_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "inferpipe.keysSecretName" . | quote }}
      key: signing-key
- name: INFERPIPE_HASH_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "inferpipe.keysSecretName" . | quote }}
      key: hash-key
{{- end -}}

{{- define "inferpipe.serviceAccountName" -}}
{{- printf "%s-%s" (include "inferpipe.fullname" .root) .component -}}
{{- end -}}

{{/*
Environment every service reads (names as in the code's *_ENV constants; a test in deploy/
checks that the chart sets no name the services do not read): Kafka, the topics, telemetry and
logs; the S3 settings are inferpipe.s3Env. AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are static
credentials for S3 and MSK IAM where IRSA is not used. Call with the ctx dict: the secretKeyRefs
name that service's own Secret.
*/}}
{{- define "inferpipe.commonEnv" -}}
{{- $secret := include "inferpipe.secretName" . -}}
{{- with .root -}}
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
      name: {{ $secret | quote }}
      key: kafkaSaslJaasConfig
      optional: true
- name: KAFKA_SSL_TRUSTSTORE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret | quote }}
      key: kafkaSslTruststorePassword
      optional: true
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ $secret | quote }}
      key: awsAccessKeyId
      optional: true
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $secret | quote }}
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
- name: INFERPIPE_TOPIC_WEBHOOKS
  value: {{ .Values.kafka.topics.webhooks | quote }}
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
{{- end -}}

{{/* The output bucket: producer-api (presigned GETs), gpu-consumer and storage-sink; webhook-notifier never touches S3. */}}
{{- define "inferpipe.s3Env" -}}
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
{{- end -}}

{{/*
The deployment's webhook secret (key webhooks.secret.key, default `webhook-secret`), which signs
the webhooks of jobs no API key owns: webhooks.secret.existingSecret, or <fullname>-webhooks made
by the chart from webhooks.secret.value (at least 32 characters). With neither, the services read
<fullname>-webhooks if it exists (optional): without a secret those jobs cannot ask for webhooks.
*/}}
{{- define "inferpipe.webhookSecretName" -}}
{{- $secret := .Values.webhooks.secret -}}
{{- if and $secret.existingSecret $secret.value -}}
{{- fail "webhooks.secret: set either webhooks.secret.existingSecret or webhooks.secret.value, not both" -}}
{{- end -}}
{{- if $secret.value -}}
{{- if lt (len (trim $secret.value)) 32 -}}
{{- fail (printf "webhooks.secret.value has %d characters; at least 32 are required (openssl rand -hex 32)" (len (trim $secret.value))) -}}
{{- end -}}
{{- end -}}
{{- default (printf "%s-webhooks" (include "inferpipe.fullname" .)) $secret.existingSecret -}}
{{- end -}}

{{/*
INFERPIPE_WEBHOOK_SECRET and INFERPIPE_WEBHOOK_ALLOWED_HOSTS: producer-api (which accepts a
webhook_url of a job no API key owns only with a secret, and only to an allowed host) and
webhook-notifier (which signs and checks them) read the same values.
*/}}
{{- define "inferpipe.webhookEnv" -}}
- name: INFERPIPE_WEBHOOK_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "inferpipe.webhookSecretName" . | quote }}
      key: {{ .Values.webhooks.secret.key | quote }}
      {{- if not (or .Values.webhooks.secret.existingSecret .Values.webhooks.secret.value) }}
      optional: true
      {{- end }}
- name: INFERPIPE_WEBHOOK_ALLOWED_HOSTS
  value: {{ join "," .Values.webhooks.allowedHosts | quote }}
{{- end -}}

{{/* The API keys file (auth.enabled): producer-api authenticates with it, webhook-notifier reads each key's webhook secret and allow-list. */}}
{{- define "inferpipe.apiKeysSecretName" -}}
{{- default (printf "%s-api-keys" (include "inferpipe.fullname" .)) .Values.auth.keysSecret -}}
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
