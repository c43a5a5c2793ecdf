{{- define "chatbox.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "chatbox.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "chatbox.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "chatbox.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "chatbox.selectorLabels" -}}
app.kubernetes.io/name: {{ include "chatbox.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "chatbox.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "chatbox.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The Secret the pod reads its secret variables from. */}}
{{- define "chatbox.secretName" -}}
{{- default (include "chatbox.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* The prefix every HTTP route is under; probes and the ingress follow it. */}}
{{- define "chatbox.prefix" -}}
{{- required "config.CHATBOX_PATH_PREFIX is required" .Values.config.CHATBOX_PATH_PREFIX }}
{{- end }}

{{/* The image by digest, or by an immutable tag: `latest` is refused. */}}
{{- define "chatbox.image" -}}
{{- $image := .Values.image }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- $tag := default .Chart.AppVersion $image.tag }}
{{- if eq $tag "latest" }}
{{- fail "image.tag: `latest` is mutable and refused; use an immutable version tag or image.digest" }}
{{- end }}
{{- printf "%s:%s" $image.repository $tag }}
{{- end }}
{{- end }}

{{/* A ConfigMap value as a string: numbers come from YAML as float64 and are written as integers. */}}
{{- define "chatbox.envValue" -}}
{{- if or (kindIs "float64" .) (kindIs "int64" .) (kindIs "int" .) }}
{{- . | int64 | toString }}
{{- else }}
{{- . | toString }}
{{- end }}
{{- end }}

{{/*
Refuses values that would give a pod Chatbox refuses in production, or an unsafe deployment.
Rendered by the Deployment, so `helm template` and `helm install` fail before anything is applied.
*/}}
{{- define "chatbox.validate" -}}
{{- $required := .Values.secrets.requiredKeys }}
{{- $secretKeys := concat .Values.secrets.requiredKeys .Values.secrets.optionalKeys }}
{{- $config := .Values.config }}
{{- range $key := .Values.secrets.optionalKeys }}
{{- if has $key $required }}
{{- fail (printf "secrets: %s is both required and optional" $key) }}
{{- end }}
{{- end }}
{{- range $key := $secretKeys }}
{{- if hasKey $config $key }}
{{- fail (printf "%s is set both in config and as a secret key" $key) }}
{{- end }}
{{- end }}
{{- if not (has "MONGODB_URI" $required) }}
{{- fail "secrets.requiredKeys must include MONGODB_URI: production needs MongoDB" }}
{{- end }}
{{- if eq (default "HS256" $config.JWT_ALGORITHM) "HS256" }}
{{- if not (has "JWT_SECRET" $required) }}
{{- fail "secrets.requiredKeys must include JWT_SECRET with JWT_ALGORITHM HS256" }}
{{- end }}
{{- else if not (or $config.JWT_PUBLIC_KEY $config.JWT_JWKS_URL) }}
{{- fail (printf "JWT_ALGORITHM %s needs config.JWT_PUBLIC_KEY or config.JWT_JWKS_URL" $config.JWT_ALGORITHM) }}
{{- end }}
{{- if not (or (has "ENCRYPTION_KEY" $required) (has "ENCRYPTION_KEYS" $required)) }}
{{- fail "secrets.requiredKeys must include ENCRYPTION_KEY or ENCRYPTION_KEYS" }}
{{- end }}
{{- if and (not $config.METRICS_PORT) (not (has "METRICS_TOKEN" $required)) }}
{{- fail "secrets.requiredKeys must include METRICS_TOKEN unless config.METRICS_PORT is set" }}
{{- end }}
{{- if and $config.METRICS_PORT (eq (int64 $config.METRICS_PORT) (int64 $config.PORT)) }}
{{- fail "config.METRICS_PORT must differ from config.PORT" }}
{{- end }}
{{- if and (or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1)) (not (has "REDIS_URL" $required)) }}
{{- fail "secrets.requiredKeys must include REDIS_URL: several replicas share state through Redis" }}
{{- end }}
{{- if and (ne (default "disk" $config.STORAGE_DRIVER) "s3") (not .Values.dataDir.existingClaim) }}
{{- fail "config.STORAGE_DRIVER=disk keeps files in DATA_DIR, an emptyDir lost with its pod and unseen by the other replicas: use STORAGE_DRIVER=s3 or set dataDir.existingClaim" }}
{{- end }}
{{- if and (hasKey $config "SHUTDOWN_DRAIN_DELAY_MS") (ge (int64 $config.SHUTDOWN_DRAIN_DELAY_MS) (int64 $config.SHUTDOWN_TIMEOUT_MS)) }}
{{- fail "config.SHUTDOWN_DRAIN_DELAY_MS must be shorter than config.SHUTDOWN_TIMEOUT_MS" }}
{{- end }}
{{- end }}

{{/*
How pods are replaced: `updateStrategy` when set; otherwise Recreate without REDIS_URL (one replica, whose
lease the new pod could not take while the old one runs), else RollingUpdate.
*/}}
{{- define "chatbox.updateStrategy" -}}
{{- if .Values.updateStrategy }}{{ .Values.updateStrategy }}{{ else if has "REDIS_URL" .Values.secrets.requiredKeys }}RollingUpdate{{ else }}Recreate{{ end }}
{{- end }}
