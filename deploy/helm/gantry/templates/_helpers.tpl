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

{{/* Hybrid roles (docs/hybrid.md): a control plane proxies nothing, a data plane has no database. */}}
{{- define "gantry.role" -}}
{{- $role := .Values.role | default "traditional" -}}
{{- if not (has $role (list "traditional" "control_plane" "data_plane")) -}}
{{- fail (printf "role: expected traditional, control_plane or data_plane, got %q" $role) -}}
{{- end -}}
{{- $role -}}
{{- end -}}

{{- define "gantry.isControlPlane" -}}{{- if eq (include "gantry.role" .) "control_plane" -}}true{{- end -}}{{- end -}}

{{- define "gantry.isDataPlane" -}}{{- if eq (include "gantry.role" .) "data_plane" -}}true{{- end -}}{{- end -}}

{{/* Whether the nodes open the proxy: every role but the control plane, when a port is set. */}}
{{- define "gantry.proxies" -}}
{{- if and (not (include "gantry.isControlPlane" .)) (or .Values.proxy.httpPort .Values.proxy.tlsPort) -}}true{{- end -}}
{{- end -}}

{{/* Whether the release has a Service for the Admin API: a data plane's only reads, so it has none unless asked. */}}
{{- define "gantry.adminService" -}}
{{- if and .Values.admin.service.enabled .Values.admin.port (or (not (include "gantry.isDataPlane" .)) .Values.cluster.dataPlaneAdminService) -}}true{{- end -}}
{{- end -}}

{{- define "gantry.proxyListen" -}}
{{- $p := .Values.proxy -}}
{{- if include "gantry.isControlPlane" . -}}off{{- else -}}
{{- $entries := list -}}
{{- if $p.httpPort -}}{{- $entries = append $entries (printf "0.0.0.0:%v" $p.httpPort) -}}{{- end -}}
{{- if $p.tlsPort -}}{{- $entries = append $entries (trim (printf "0.0.0.0:%v %s" $p.tlsPort (default "" $p.tlsOptions))) -}}{{- end -}}
{{- if $entries -}}{{- join ", " $entries -}}{{- else -}}off{{- end -}}
{{- end -}}
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
{{- $dataPlane := include "gantry.isDataPlane" . -}}
{{- $conf := dict -}}
{{- if not $dataPlane -}}
{{- $_ := required "postgres.pg_host is required: the host name or address of the PostgreSQL server" .Values.postgres.pg_host -}}
{{- range $name, $value := .Values.postgres -}}
{{- if and (hasPrefix "pg_" $name) (ne $name "pg_password") (ne $name "pg_ro_password") (not (eq (toString $value) "")) (not (kindIs "invalid" $value)) -}}
{{- $_ := set $conf $name (include "gantry.confValue" $value) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $name, $value := .Values.config -}}
{{- if has $name (list "pg_password" "pg_ro_password") -}}
{{- fail (printf "config.%s: a password does not belong in the ConfigMap; set postgres.pg_password or postgres.existingSecret" $name) -}}
{{- end -}}
{{- if has $name (list "database" "prefix" "proxy_listen" "admin_listen" "status_listen") -}}
{{- fail (printf "config.%s: the chart sets this property itself; see values.yaml (prefix, proxy, admin, status)" $name) -}}
{{- end -}}
{{- if has $name (list "role" "cluster_cert" "cluster_cert_key" "cluster_ca_cert" "cluster_mtls" "cluster_listen" "cluster_control_plane") -}}
{{- fail (printf "config.%s: the chart sets this property itself; see values.yaml (role, cluster)" $name) -}}
{{- end -}}
{{- if not (kindIs "invalid" $value) -}}
{{- $_ := set $conf $name (include "gantry.confValue" $value) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $conf "database" (ternary "off" "postgres" (eq $dataPlane "true")) -}}
{{- include "gantry.clusterConf" (dict "root" . "conf" $conf) -}}
{{- $_ := set $conf "prefix" .Values.prefix -}}
{{- $_ := set $conf "proxy_listen" (include "gantry.proxyListen" .) -}}
{{- $_ := set $conf "admin_listen" (include "gantry.adminListen" .) -}}
{{- $_ := set $conf "status_listen" (printf "0.0.0.0:%v" (required "status.port is required: the probes use the Status API" .Values.status.port)) -}}
{{- range $name := keys $conf | sortAlpha }}
{{ printf "GANTRY_%s" (upper $name) }}: {{ get $conf $name | quote }}
{{- end -}}
{{- end -}}

{{/*
The hybrid properties, set into (dict "root" $ "conf" DICT): the role, the cluster certificate files
mounted from cluster.secretName, and the listener (control plane) or the address (data plane).
*/}}
{{- define "gantry.clusterConf" -}}
{{- $root := .root -}}
{{- $c := $root.Values.cluster -}}
{{- $role := include "gantry.role" $root -}}
{{- $_ := set .conf "role" $role -}}
{{- if ne $role "traditional" -}}
{{- $_ := required (printf "cluster.secretName is required when role is %s: the Secret holding the cluster certificate and key ('gantry hybrid gen_cert', then kubectl create secret tls NAME --cert=cluster.crt --key=cluster.key)" $role) $c.secretName -}}
{{- $_ := set .conf "cluster_cert" (printf "%s/cluster.crt" $c.mountPath) -}}
{{- $_ := set .conf "cluster_cert_key" (printf "%s/cluster.key" $c.mountPath) -}}
{{- $_ := set .conf "cluster_mtls" $c.mtls -}}
{{- if ne $c.mtls "shared" -}}
{{- $_ := required (printf "cluster.caKey is required when cluster.mtls is %s: the key of cluster.secretName holding the CA certificate" $c.mtls) $c.caKey -}}
{{- end -}}
{{- if $c.caKey -}}
{{- $_ := set .conf "cluster_ca_cert" (printf "%s/ca.crt" $c.mountPath) -}}
{{- end -}}
{{- if eq $role "control_plane" -}}
{{- $_ := set .conf "cluster_listen" (printf "0.0.0.0:%v" $c.port) -}}
{{- else -}}
{{- $_ := set .conf "cluster_control_plane" (required "cluster.controlPlane is required when role is data_plane: host:port of the control plane release's cluster Service (<cp-release>-gantry-cluster.<namespace>.svc:8005)" $c.controlPlane) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Whether the chart makes the password Secret itself (a data plane has no database, so no password). */}}
{{- define "gantry.ownsPasswordSecret" -}}
{{- if and .Values.postgres.pg_password (not .Values.postgres.existingSecret) (not (include "gantry.isDataPlane" .)) -}}true{{- end -}}
{{- end -}}

{{/* The Secret the nodes read the password from, and its key; empty when there is no password. */}}
{{- define "gantry.passwordSecretName" -}}
{{- if include "gantry.isDataPlane" . -}}
{{- else if .Values.postgres.existingSecret -}}
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
{{- if ne (include "gantry.role" .) "traditional" }}
- name: cluster
  secret:
    secretName: {{ .Values.cluster.secretName }}
    # 0440: readable by the pod's group (podSecurityContext.fsGroup), by nobody else.
    defaultMode: 288
    items:
      - key: {{ .Values.cluster.certKey }}
        path: cluster.crt
      - key: {{ .Values.cluster.keyKey }}
        path: cluster.key
      {{- with .Values.cluster.caKey }}
      - key: {{ . }}
        path: ca.crt
      {{- end }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "gantry.volumeMounts" -}}
- name: prefix
  mountPath: {{ .Values.prefix }}
- name: tmp
  mountPath: /tmp
{{- if ne (include "gantry.role" .) "traditional" }}
- name: cluster
  mountPath: {{ .Values.cluster.mountPath }}
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}
