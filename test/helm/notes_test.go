package helm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// renderNotes renders templates/NOTES.txt, which helm template does not output and helm lint does not
// render: in a copy of the chart, NOTES.txt becomes a named template that a ConfigMap includes.
func renderNotes(t *testing.T, args ...string) string {
	t.Helper()
	copyDir := filepath.Join(t.TempDir(), "chatbox")
	if err := os.CopyFS(copyDir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	notesPath := filepath.Join(copyDir, "templates", "NOTES.txt")
	notes, err := os.ReadFile(notesPath)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"_notes.tpl": `{{- define "test.notes" -}}` + string(notes) + `{{- end }}`,
		"notes.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  NOTES: {{ include \"test.notes\" . | quote }}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(copyDir, "templates", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(notesPath); err != nil {
		t.Fatal(err)
	}
	out, err := runHelm(t, append([]string{"template", "chatbox", copyDir, "--namespace", "chat", "--kube-version", kubeVersion, "--show-only", "templates/notes.yaml"}, args...)...)
	if err != nil {
		t.Fatalf("NOTES.txt does not render: %v\n%s", err, out)
	}
	return only[*corev1.ConfigMap](t, decodeManifests(t, out)).Data["NOTES"]
}

func TestNotesNameTheSecretProbesAndMetrics(t *testing.T) {
	for name, c := range map[string]struct {
		args []string
		want []string
	}{
		"default": {defaultValues, []string{"Secret chatbox", "--from-literal=MONGODB_URI=", "/chatbox/healthz", "/chatbox/readyz", "port-forward svc/chatbox", "Bearer $METRICS_TOKEN", "2 to 10 (HPA)"}},
		"custom":  {customValues, []string{"Secret chatbox-production", "--from-literal=ENCRYPTION_KEYS=", "/support/chat/readyz", "https://chat.example.com/support/chat/", "on port 9464"}},
		"token":   {tokenValues, []string{"Replicas: 3", "Bearer $METRICS_TOKEN"}},
	} {
		t.Run(name, func(t *testing.T) {
			notes := renderNotes(t, c.args...)
			for _, want := range c.want {
				if !strings.Contains(notes, want) {
					t.Errorf("NOTES lack %q:\n%s", want, notes)
				}
			}
		})
	}
}
