{{/*
Names, labels and the pieces the Deployment and the migration Jobs share.
*/}}

{{/* The chart's short name: "gantry" unless nameOverride says otherwise. */}}
{{- define "gantry.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Object name prefix: <release>-gantry, or the release name alone when it already says gantry. */}}
{{- define "gantry.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "gantry.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "gantry.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's objects. */}}
{{- define "gantry.instanceLabels" -}}
app.kubernetes.io/name: {{ include "gantry.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
The labels that select the nodes of this release (the Deployment's pods, the Services' endpoints).
component=node keeps the migration Jobs' pods out of the Services. Never change them: a Deployment's
selector is immutable.
*/}}
{{- define "gantry.selectorLabels" -}}
{{ include "gantry.instanceLabels" . }}
app.kubernetes.io/component: node
{{- end -}}

{{- define "gantry.labels" -}}
helm.sh/chart: {{ include "gantry.chart" . }}
{{ include "gantry.instanceLabels" . }}
app.kubernetes.io/version: {{ include "gantry.appVersion" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "gantry.appVersion" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{- define "gantry.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "gantry.appVersion" .) -}}
{{- end -}}

{{/* A gantry.conf value as an environment value: booleans become on/off, everything a string. */}}
{{- define "gantry.confValue" -}}
{{- if kindIs "bool" . -}}
{{- ternary "on" "off" . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{- define "gantry.proxyListen" -}}
{{- $p := .Values.proxy -}}
{{- $entries := list -}}
{{- if $p.httpPort -}}{{- $entries = append $entries (printf "0.0.0.0:%v" $p.httpPort) -}}{{- end -}}
{{- if $p.tlsPort -}}{{- $entries = append $entries (trim (printf "0.0.0.0:%v %s" $p.tlsPort (default "" $p.tlsOptions))) -}}{{- end -}}
{{- if $entries -}}{{- join ", " $entries -}}{{- else -}}off{{- end -}}
{{- end -}}

{{- define "gantry.adminListen" -}}
{{- if .Values.admin.port -}}{{- printf "0.0.0.0:%v" .Values.admin.port -}}{{- else -}}off{{- end -}}
{{- end -}}

{{/*
The non-secret configuration, as the data of a ConfigMap: GANTRY_<PROPERTY>: "value". Every value is
quoted, so that Kubernetes' YAML 1.1 reader keeps "on", "off" and numbers as the strings a ConfigMap
must hold.
*/}}
{{- define "gantry.configData" -}}
{{- $_ := required "postgres.pg_host is required: the host name or address of the PostgreSQL server" .Values.postgres.pg_host -}}
{{- $conf := dict -}}
{{- range $name, $value := .Values.postgres -}}
{{- if and (hasPrefix "pg_" $name) (ne $name "pg_password") (ne $name "pg_ro_password") (not (eq (toString $value) "")) (not (kindIs "invalid" $value)) -}}
{{- $_ := set $conf $name (include "gantry.confValue" $value) -}}
{{- end -}}
{{- end -}}
{{- range $name, $value := .Values.config -}}
{{- if has $name (list "pg_password" "pg_ro_password") -}}
{{- fail (printf "config.%s: a password does not belong in the ConfigMap; set postgres.pg_password or postgres.existingSecret" $name) -}}
{{- end -}}
{{- if has $name (list "database" "prefix" "proxy_listen" "admin_listen" "status_listen") -}}
{{- fail (printf "config.%s: the chart sets this property itself; see values.yaml (prefix, proxy, admin, status)" $name) -}}
{{- end -}}
{{- if not (kindIs "invalid" $value) -}}
{{- $_ := set $conf $name (include "gantry.confValue" $value) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $conf "database" "postgres" -}}
{{- $_ := set $conf "prefix" .Values.prefix -}}
{{- $_ := set $conf "proxy_listen" (include "gantry.proxyListen" .) -}}
{{- $_ := set $conf "admin_listen" (include "gantry.adminListen" .) -}}
{{- $_ := set $conf "status_listen" (printf "0.0.0.0:%v" (required "status.port is required: the probes use the Status API" .Values.status.port)) -}}
{{- range $name := keys $conf | sortAlpha }}
{{ printf "GANTRY_%s" (upper $name) }}: {{ get $conf $name | quote }}
{{- end -}}
{{- end -}}

{{/* Whether the chart makes the password Secret itself. */}}
{{- define "gantry.ownsPasswordSecret" -}}
{{- if and .Values.postgres.pg_password (not .Values.postgres.existingSecret) -}}true{{- end -}}
{{- end -}}

{{/* The Secret the nodes read the password from, and its key; empty when there is no password. */}}
{{- define "gantry.passwordSecretName" -}}
{{- if .Values.postgres.existingSecret -}}
{{- .Values.postgres.existingSecret -}}
{{- else if .Values.postgres.pg_password -}}
{{- printf "%s-postgres" (include "gantry.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "gantry.passwordSecretKey" -}}
{{- if .Values.postgres.existingSecret -}}{{- .Values.postgres.existingSecretKey | default "pg_password" -}}{{- else -}}pg_password{{- end -}}
{{- end -}}

{{/*
The container's configuration: the ConfigMap as GANTRY_* variables, and the password from its Secret.
Called with (dict "root" $ "configMap" NAME "secret" NAME).
*/}}
{{- define "gantry.containerEnv" -}}
envFrom:
  - configMapRef:
      name: {{ .configMap }}
{{- if .secret }}
env:
  - name: GANTRY_PG_PASSWORD
    valueFrom:
      secretKeyRef:
        name: {{ .secret }}
        key: {{ include "gantry.passwordSecretKey" .root }}
{{- end }}
{{- end -}}

{{/* Volumes every Gantry container mounts: the prefix and /tmp, writable under a read-only root. */}}
{{- define "gantry.volumes" -}}
- name: prefix
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "gantry.volumeMounts" -}}
- name: prefix
  mountPath: {{ .Values.prefix }}
- name: tmp
  mountPath: /tmp
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}
