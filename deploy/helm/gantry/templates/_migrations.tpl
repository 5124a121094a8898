{{/*
One migration Job, a Helm hook: (dict "root" $ "name" NAME "hook" EVENT "command" MIGRATIONS-SUBCOMMAND).
Its pods carry component=migrations, not the nodes' selector labels, so the Services never send them
traffic.
*/}}
{{- define "gantry.migrationJob" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $hookName := printf "%s-migrations" (include "gantry.fullname" $root) -}}
{{- $secret := "" -}}
{{- if $v.postgres.existingSecret -}}{{- $secret = $v.postgres.existingSecret -}}{{- else if $v.postgres.pg_password -}}{{- $secret = $hookName -}}{{- end -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-%s" $hookName .name | trunc 63 | trimSuffix "-" }}
  labels:
    {{- include "gantry.labels" $root | nindent 4 }}
    app.kubernetes.io/component: migrations
  annotations:
    helm.sh/hook: {{ .hook }}
    helm.sh/hook-weight: "0"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
    {{- with $v.migrations.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  backoffLimit: {{ $v.migrations.backoffLimit }}
  {{- with $v.migrations.activeDeadlineSeconds }}
  activeDeadlineSeconds: {{ . }}
  {{- end }}
  template:
    metadata:
      labels:
        {{- include "gantry.instanceLabels" $root | nindent 8 }}
        app.kubernetes.io/component: migrations
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      {{- with $v.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.podSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: migrations-{{ .name }}
          image: {{ include "gantry.image" $root | quote }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          command:
            - {{ $v.image.command | quote }}
            - migrations
            - {{ .command }}
            - --lock-timeout
            - {{ $v.migrations.lockTimeout | toString | quote }}
            {{- range $v.migrations.extraArgs }}
            - {{ . | quote }}
            {{- end }}
          {{- include "gantry.containerEnv" (dict "root" $root "configMap" $hookName "secret" $secret) | nindent 10 }}
          {{- with $v.securityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $v.migrations.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          volumeMounts:
            {{- include "gantry.volumeMounts" $root | nindent 12 }}
      volumes:
        {{- include "gantry.volumes" $root | nindent 8 }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
