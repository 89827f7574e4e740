{{/* Names: RELEASE-lattice (or the release name alone when it already says lattice). */}}
{{- define "lattice.fullname" -}}
{{- if contains "lattice" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-lattice" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "lattice.labels" -}}
app.kubernetes.io/name: lattice
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "lattice.selector" -}}
app.kubernetes.io/name: lattice
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "lattice.image" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- $tag := $root.Values.image.tag | default $root.Chart.AppVersion -}}
{{- if $root.Values.image.registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $root.Values.image.registry) $name $tag -}}
{{- else -}}
{{- printf "%s:%s" $name $tag -}}
{{- end -}}
{{- end -}}

{{/* The control server's in-cluster URL. */}}
{{- define "lattice.controlServiceUrl" -}}
{{- printf "http://%s-control.%s.svc:8080" (include "lattice.fullname" .) .Release.Namespace -}}
{{- end -}}

{{- define "lattice.serverUrl" -}}
{{- .Values.control.serverUrl | default (include "lattice.controlServiceUrl" .) -}}
{{- end -}}

{{/* lattice-control's config.yaml (Headscale's format); it lives in a Secret as it may hold a database password. */}}
{{- define "lattice.controlConfig" -}}
server_url: {{ include "lattice.serverUrl" . }}
listen_addr: 0.0.0.0:8080
metrics_listen_addr: 0.0.0.0:9090
{{- if .Values.control.tls.existingSecret }}
tls_cert_path: /etc/lattice-tls/tls.crt
tls_key_path: /etc/lattice-tls/tls.key
{{- end }}
noise:
  private_key_path: /var/lib/lattice/noise_private.key
prefixes:
  v4: 100.64.0.0/10
  v6: fd7a:115c:a1e0::/48
  allocation: sequential
database:
  type: {{ .Values.control.database.type }}
{{- if eq .Values.control.database.type "postgres" }}
  postgres:
    host: {{ required "control.database.postgres.host is required with type postgres" .Values.control.database.postgres.host | quote }}
    port: {{ .Values.control.database.postgres.port }}
    name: {{ .Values.control.database.postgres.name | quote }}
    user: {{ .Values.control.database.postgres.user | quote }}
    pass: {{ .Values.control.database.postgres.pass | quote }}
    ssl: {{ .Values.control.database.postgres.ssl | quote }}
{{- else }}
  sqlite:
    path: /var/lib/lattice/db.sqlite
{{- end }}
derp:
  server:
    enabled: {{ .Values.control.derp.enabled }}
    region_id: {{ .Values.control.derp.regionId }}
    region_code: lattice
    region_name: Lattice embedded DERP
    verify_clients: true
    stun_listen_addr: 0.0.0.0:3478
    private_key_path: /var/lib/lattice/derp_server_private.key
    automatically_add_embedded_derp_region: true
{{- with .Values.control.derp.ipv4 }}
    ipv4: {{ . }}
{{- end }}
{{- with .Values.control.derp.ipv6 }}
    ipv6: {{ . }}
{{- end }}
  urls: []
dns:
  magic_dns: {{ .Values.control.dns.magicDns }}
  base_domain: {{ .Values.control.dns.baseDomain }}
  nameservers:
    global:
{{- range .Values.control.dns.nameservers }}
      - {{ . }}
{{- end }}
log:
  level: info
policy:
  mode: file
  path: /etc/lattice-policy/policy.hujson
unix_socket: /var/lib/lattice/lattice-control.sock
unix_socket_permission: "0770"
{{- end -}}
