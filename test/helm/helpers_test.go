// Package helm tests the Helm chart in helm/chatbox: it renders the chart with the helm binary (on PATH,
// or HELM), decodes every manifest strictly against the Kubernetes API types, and checks what the
// chart derives from its values.
package helm

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

var (
	repoRoot = filepath.Join("..", "..")
	chartDir = filepath.Join(repoRoot, "helm", "chatbox")
)

// strictDecoder refuses unknown and duplicate fields, for every type client-go knows and for the
// prometheus-operator's ServiceMonitor.
var strictDecoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, monitoringv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

func helmBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("HELM"); bin != "" {
		return bin
	}
	bin, err := exec.LookPath("helm")
	if err != nil {
		t.Fatal("helm is not on PATH (.ci/run installs it into .tools/bin); or set HELM")
	}
	return bin
}

// kubeVersion is the cluster version the chart is rendered for (a helm built with go install assumes 1.20).
const kubeVersion = "1.34.0"

// helmTemplate renders the chart as release "chatbox" in namespace "chat" and returns the manifests,
// or helm's error output.
func helmTemplate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runHelm(t, append([]string{"template", "chatbox", chartDir, "--namespace", "chat", "--kube-version", kubeVersion}, args...)...)
}

// runHelm returns helm's output, or its error output when it fails.
func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stderr.String(), err
	}
	return stdout.String(), nil
}

// rendered is one rendering of the chart, decoded.
type rendered struct{ objects []runtime.Object }

var documentSeparator = regexp.MustCompile(`(?m)^---\s*$`)

func decodeManifests(t *testing.T, manifests string) rendered {
	t.Helper()
	var r rendered
	for _, doc := range documentSeparator.Split(manifests, -1) {
		if isEmptyDocument(doc) {
			continue
		}
		obj, _, err := strictDecoder.Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("manifest does not decode strictly: %v\n%s", err, doc)
		}
		r.objects = append(r.objects, obj)
	}
	return r
}

func isEmptyDocument(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}

func render(t *testing.T, args ...string) rendered {
	t.Helper()
	out, err := helmTemplate(t, args...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", args, err, out)
	}
	return decodeManifests(t, out)
}

// renderFails renders with args, which must fail with an error that contains want.
func renderFails(t *testing.T, want string, args ...string) {
	t.Helper()
	out, err := helmTemplate(t, args...)
	if err == nil {
		t.Fatalf("helm template %v rendered; want an error containing %q", args, want)
	}
	if !strings.Contains(out, want) {
		t.Fatalf("helm template %v failed without %q:\n%s", args, want, out)
	}
}

// only returns the single object of type T.
func only[T runtime.Object](t *testing.T, r rendered) T {
	t.Helper()
	found := all[T](r)
	if len(found) != 1 {
		var zero T
		t.Fatalf("want exactly one %T, got %d", zero, len(found))
	}
	return found[0]
}

func all[T runtime.Object](r rendered) []T {
	var found []T
	for _, obj := range r.objects {
		if typed, ok := obj.(T); ok {
			found = append(found, typed)
		}
	}
	return found
}

func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// exportedMetrics are the metric names src/metrics/chatbox.metrics.ts defines.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`= '(chatbox_[a-z_]+)'`).FindAllStringSubmatch(readRepoFile(t, "src/metrics/chatbox.metrics.ts"), -1) {
		names[m[1]] = true
	}
	if len(names) < 10 {
		t.Fatalf("found only %d metric names in src/metrics/chatbox.metrics.ts", len(names))
	}
	return names
}
