// Command render renders a Helm chart's templates without Helm, as 'helm template' would, for the
// chart tests of a machine that has no helm binary (tests/Gantry.Tests/Deploy/HelmChartTests.cs).
//
// It uses what Helm itself is built on: Go's text/template and the sprig functions, plus the few
// functions Helm adds (include, tpl, required, toYaml, fromYaml, toJson's siblings, lookup) and the
// built-in objects .Values, .Chart, .Release, .Template and .Capabilities. Values are read as Helm
// reads them (YAML through JSON, so numbers are float64), --set is typed as Helm types it (true/false,
// integers, null), and "<no value>" is blanked as Helm does. It is not Helm: no subcharts, no .Files,
// no schema validation, no kind ordering; it prints the documents in template-file order.
//
// Build and run offline, with Debian's packages (golang-go, golang-github-masterminds-sprig-dev,
// golang-gopkg-yaml.v3-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run ./deploy/helm/render deploy/helm/gantry \
//	    --set postgres.pg_host=db --set migrations.postUpgrade=false
//
// Options: --set a.b=c[,d=e] (repeatable), -f/--values FILE (repeatable), --release-name NAME,
// --namespace NS, --upgrade (.Release.IsUpgrade instead of .Release.IsInstall), --strict (a template
// that reads a value missing from the values fails, as 'helm lint --strict'), --notes (print
// NOTES.txt after the manifests; it is rendered, and its errors reported, in any case).
// Exit status: 0 rendered, 1 a template or a document failed (the message names it), 2 usage.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"unicode"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type options struct {
	chartDir    string
	sets        []string
	valueFiles  []string
	releaseName string
	namespace   string
	upgrade     bool
	strict      bool
	notes       bool
}

func main() {
	opts, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\nusage: render CHART_DIR [--set a.b=c] [-f values.yaml] [--release-name NAME] [--namespace NS] [--upgrade] [--strict] [--notes]\n", err)
		os.Exit(2)
	}
	if err := render(opts, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}

func parseArgs(args []string) (options, error) {
	opts := options{releaseName: "gantry", namespace: "default"}
	next := func(i *int, name string) (string, error) {
		if *i+1 >= len(args) {
			return "", fmt.Errorf("%s needs a value", name)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		var err error
		switch {
		case arg == "--set":
			var v string
			if v, err = next(&i, arg); err == nil {
				opts.sets = append(opts.sets, v)
			}
		case strings.HasPrefix(arg, "--set="):
			opts.sets = append(opts.sets, strings.TrimPrefix(arg, "--set="))
		case arg == "-f" || arg == "--values":
			var v string
			if v, err = next(&i, arg); err == nil {
				opts.valueFiles = append(opts.valueFiles, v)
			}
		case arg == "--release-name":
			opts.releaseName, err = next(&i, arg)
		case arg == "--namespace" || arg == "-n":
			opts.namespace, err = next(&i, arg)
		case arg == "--upgrade":
			opts.upgrade = true
		case arg == "--strict":
			opts.strict = true
		case arg == "--notes":
			opts.notes = true
		case strings.HasPrefix(arg, "-"):
			return opts, fmt.Errorf("unknown option %s", arg)
		case opts.chartDir == "":
			opts.chartDir = arg
		default:
			return opts, fmt.Errorf("one chart directory only (got %s and %s)", opts.chartDir, arg)
		}
		if err != nil {
			return opts, err
		}
	}
	if opts.chartDir == "" {
		return opts, fmt.Errorf("the chart directory is missing")
	}
	return opts, nil
}

func render(opts options, out io.Writer) error {
	chartMeta, err := readYAMLFile(filepath.Join(opts.chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	values, err := readYAMLFile(filepath.Join(opts.chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, file := range opts.valueFiles {
		extra, err := readYAMLFile(file)
		if err != nil {
			return err
		}
		mergeInto(values, extra)
	}
	for _, set := range opts.sets {
		if err := applySet(values, set); err != nil {
			return fmt.Errorf("--set %s: %v", set, err)
		}
	}

	chart := map[string]interface{}{}
	for key, value := range chartMeta {
		chart[helmFieldName(key)] = value
	}
	chartName, _ := chart["Name"].(string)
	if chartName == "" {
		return fmt.Errorf("%s has no name", filepath.Join(opts.chartDir, "Chart.yaml"))
	}

	files, err := filepath.Glob(filepath.Join(opts.chartDir, "templates", "*"))
	if err != nil {
		return err
	}
	sort.Strings(files)

	root := template.New(chartName)
	if opts.strict {
		root.Option("missingkey=error")
	} else {
		root.Option("missingkey=zero")
	}
	root.Funcs(funcMap(root))
	var rendered []string
	notesName := ""
	for _, file := range files {
		name := filepath.Base(file)
		isNotes := name == "NOTES.txt"
		if !isNotes && !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml") && !strings.HasSuffix(name, ".tpl") {
			continue
		}
		text, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		templateName := chartName + "/templates/" + name
		if _, err := root.New(templateName).Parse(string(text)); err != nil {
			return err
		}
		// Partials (_helpers.tpl) only define templates; NOTES.txt is rendered last, as text; everything
		// else is a manifest.
		if isNotes {
			notesName = templateName
		} else if !strings.HasPrefix(name, "_") && !strings.HasSuffix(name, ".tpl") {
			rendered = append(rendered, templateName)
		}
	}

	top := map[string]interface{}{
		"Values": values,
		"Chart":  chart,
		"Release": map[string]interface{}{
			"Name":      opts.releaseName,
			"Namespace": opts.namespace,
			"IsInstall": !opts.upgrade,
			"IsUpgrade": opts.upgrade,
			"Revision":  map[bool]int{false: 1, true: 2}[opts.upgrade],
			"Service":   "Helm",
		},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": "v1.30.0", "Major": "1", "Minor": "30", "GitVersion": "v1.30.0"},
			"APIVersions": []string{},
		},
	}

	for _, name := range rendered {
		scope := copyMap(top)
		scope["Template"] = map[string]interface{}{"Name": name, "BasePath": chartName + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, scope); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		for i, doc := range splitDocuments(text) {
			var parsed interface{}
			if err := yaml.Unmarshal([]byte(doc), &parsed); err != nil {
				return fmt.Errorf("%s, document %d, is not valid YAML: %v\n%s", name, i+1, err, numbered(doc))
			}
			if parsed == nil {
				continue // only comments
			}
			fmt.Fprintf(out, "---\n# Source: %s\n%s\n", name, strings.Trim(doc, "\n"))
		}
	}
	// NOTES.txt is always rendered, so that an error in it fails here as it would fail 'helm install',
	// and printed (after the manifests, as text) only with --notes.
	if notesName != "" {
		scope := copyMap(top)
		scope["Template"] = map[string]interface{}{"Name": notesName, "BasePath": chartName + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, notesName, scope); err != nil {
			return err
		}
		if opts.notes {
			fmt.Fprintf(out, "\nNOTES:\n%s\n", strings.TrimSpace(strings.ReplaceAll(buf.String(), "<no value>", "")))
		}
	}
	return nil
}

// funcMap is sprig's (without env and expandenv, which Helm removes) plus Helm's own functions.
func funcMap(root *template.Template) template.FuncMap {
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	includeDepth := 0
	funcs["include"] = func(name string, data interface{}) (string, error) {
		includeDepth++
		defer func() { includeDepth-- }()
		if includeDepth > 1000 {
			return "", fmt.Errorf("include %q: too deep (a template includes itself)", name)
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err := clone.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	funcs["required"] = func(message string, value interface{}) (interface{}, error) {
		if value == nil {
			return nil, fmt.Errorf("%s", message)
		}
		if s, ok := value.(string); ok && s == "" {
			return nil, fmt.Errorf("%s", message)
		}
		return value, nil
	}
	funcs["toYaml"] = func(value interface{}) string {
		var buf bytes.Buffer
		encoder := yaml.NewEncoder(&buf)
		encoder.SetIndent(2)
		if err := encoder.Encode(value); err != nil {
			return "" // as Helm: errors become an empty string
		}
		return strings.TrimSuffix(buf.String(), "\n")
	}
	funcs["fromYaml"] = func(text string) map[string]interface{} {
		result := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(text), &result); err != nil {
			result["Error"] = err.Error()
		}
		return result
	}
	funcs["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil // as 'helm template': no cluster to look in
	}
	return funcs
}

// readYAMLFile reads YAML as Helm reads values: through JSON, so maps have string keys and numbers
// are float64.
func readYAMLFile(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	asJSON, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	result := map[string]interface{}{}
	if err := json.Unmarshal(asJSON, &result); err != nil {
		return nil, fmt.Errorf("%s: not a mapping: %v", path, err)
	}
	return result, nil
}

func mergeInto(dst, src map[string]interface{}) {
	for key, value := range src {
		if srcMap, ok := value.(map[string]interface{}); ok {
			if dstMap, ok := dst[key].(map[string]interface{}); ok {
				mergeInto(dstMap, srcMap)
				continue
			}
		}
		dst[key] = value
	}
}

// applySet applies one --set argument: comma-separated a.b.c=value assignments, typed as Helm's
// --set types them. A backslash escapes a comma or a dot.
func applySet(values map[string]interface{}, arg string) error {
	for _, assignment := range splitEscaped(arg, ',') {
		eq := strings.Index(assignment, "=")
		if eq <= 0 {
			return fmt.Errorf("expected key=value, got %q", assignment)
		}
		path := splitEscaped(assignment[:eq], '.')
		raw := unescape(assignment[eq+1:])
		node := values
		for _, key := range path[:len(path)-1] {
			child, ok := node[unescape(key)].(map[string]interface{})
			if !ok {
				child = map[string]interface{}{}
				node[unescape(key)] = child
			}
			node = child
		}
		node[unescape(path[len(path)-1])] = typedSetValue(raw)
	}
	return nil
}

func typedSetValue(raw string) interface{} {
	switch raw {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil && (raw == "0" || !strings.HasPrefix(raw, "0")) {
		return n
	}
	return raw
}

func splitEscaped(s string, sep rune) []string {
	var parts []string
	var current strings.Builder
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			if r != sep {
				current.WriteRune('\\')
			}
			current.WriteRune(r)
			escaped = false
		case r == '\\':
			escaped = true
		case r == sep:
			parts = append(parts, current.String())
			current.Reset()
		default:
			current.WriteRune(r)
		}
	}
	return append(parts, current.String())
}

func unescape(s string) string { return strings.ReplaceAll(s, `\`, "") }

// splitDocuments splits rendered text at "---" separator lines, dropping documents of blank lines.
func splitDocuments(text string) []string {
	var docs []string
	var current []string
	flush := func() {
		doc := strings.Join(current, "\n")
		if strings.TrimSpace(doc) != "" {
			docs = append(docs, doc)
		}
		current = nil
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimRightFunc(line, unicode.IsSpace) == "---" {
			flush()
			continue
		}
		current = append(current, line)
	}
	flush()
	return docs
}

// helmFieldName maps a Chart.yaml key to its .Chart field (appVersion -> AppVersion, apiVersion -> APIVersion).
func helmFieldName(key string) string {
	if key == "apiVersion" {
		return "APIVersion"
	}
	if key == "" {
		return key
	}
	return strings.ToUpper(key[:1]) + key[1:]
}

func copyMap(m map[string]interface{}) map[string]interface{} {
	result := make(map[string]interface{}, len(m)+1)
	for k, v := range m {
		result[k] = v
	}
	return result
}

func numbered(doc string) string {
	var b strings.Builder
	for i, line := range strings.Split(doc, "\n") {
		fmt.Fprintf(&b, "%4d | %s\n", i+1, line)
	}
	return b.String()
}
