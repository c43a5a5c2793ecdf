package helm

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// Variables of src/config/env.schema.ts that values.config deliberately does not take.
var (
	// Secret variables: they come only from the Secret (secrets.requiredKeys or optionalKeys), never
	// from values, so values.schema.json refuses them in config.
	secretVariables = []string{
		"MONGODB_URI", "REDIS_URL", "JWT_SECRET", "ENCRYPTION_KEY", "ENCRYPTION_KEYS", "METRICS_TOKEN",
		"SMTP_URL", "SMS_ACCOUNT_SID", "SMS_AUTH_TOKEN", "WEBHOOK_URLS", "WEBHOOK_SECRET",
		"S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY",
	}
	// Set by the chart itself, with the reason.
	setByChart = map[string]string{
		"NODE_ENV": "always production in the cluster",
		"HOST":     "always 0.0.0.0, so the kubelet's probes and the Service reach the pod",
		"DATA_DIR": "the emptyDir mounted at dataDir.mountPath (the root filesystem is read-only)",
	}
	// Not settable at all, with the reason.
	notSettable = map[string]string{
		"EMBEDDED_MONGO_BACKEND": "the embedded MongoDB is for development; production requires MONGODB_URI",
		"EMBEDDED_POSTGRES_URL":  "the embedded MongoDB is for development; production requires MONGODB_URI",
	}
)

type envVariable struct {
	name    string
	integer bool
}

// schemaVariables reads every variable of the EnvVars class, one per @Expose() declaration.
func schemaVariables(t *testing.T) []envVariable {
	t.Helper()
	source := readRepoFile(t, "src/config/env.schema.ts")
	body := source[strings.Index(source, "export class EnvVars"):]
	declarations := strings.Split(body, "@Expose()")[1:]
	name := regexp.MustCompile(`(?:\)\s+|\n\s*)([A-Z][A-Z0-9_]+)\??(?::\s|\s=)`)
	var vars []envVariable
	for _, declaration := range declarations {
		matches := name.FindAllStringSubmatch(declaration, -1)
		if len(matches) == 0 {
			t.Fatalf("no variable name in the declaration %q", declaration)
		}
		vars = append(vars, envVariable{name: matches[len(matches)-1][1], integer: strings.Contains(declaration, "@Type(() => Number)")})
	}
	if len(vars) < 80 {
		t.Fatalf("read only %d variables from env.schema.ts", len(vars))
	}
	return vars
}

type propertySchema struct {
	Type    string
	Minimum *float64
	Maximum *float64
}

func configProperties(t *testing.T) map[string]propertySchema {
	t.Helper()
	var schema struct {
		Properties struct {
			Config struct {
				Properties map[string]propertySchema
			}
		}
	}
	if err := json.Unmarshal([]byte(readRepoFile(t, "helm/chatbox/values.schema.json")), &schema); err != nil {
		t.Fatal(err)
	}
	return schema.Properties.Config.Properties
}

// The project rule: README, .env.example and the Helm values stay true when configuration changes.
func TestEveryEnvVariableIsSettableOrDeliberatelyNot(t *testing.T) {
	config := configProperties(t)
	secrets := map[string]bool{}
	for _, name := range secretVariables {
		secrets[name] = true
	}
	known := map[string]bool{}
	var uncovered []string
	for _, v := range schemaVariables(t) {
		known[v.name] = true
		property, inConfig := config[v.name]
		reasons := 0
		for _, covered := range []bool{inConfig, secrets[v.name], setByChart[v.name] != "", notSettable[v.name] != ""} {
			if covered {
				reasons++
			}
		}
		switch {
		case reasons == 0:
			uncovered = append(uncovered, v.name)
		case reasons > 1:
			t.Errorf("%s is listed more than once (config, secret, set by the chart, not settable)", v.name)
		case inConfig && v.integer != (property.Type == "integer"):
			t.Errorf("%s: values.schema.json type %s, env.schema.ts integer %v", v.name, property.Type, v.integer)
		}
	}
	sort.Strings(uncovered)
	if len(uncovered) > 0 {
		t.Errorf("env.schema.ts variables the chart neither takes nor lists as not settable: %v (add them to values.schema.json's config, or to a list in this file)", uncovered)
	}
	var stale []string
	for name := range config {
		if !known[name] {
			stale = append(stale, name)
		}
	}
	for _, list := range []map[string]string{setByChart, notSettable} {
		for name := range list {
			if !known[name] {
				stale = append(stale, name)
			}
		}
	}
	for _, name := range secretVariables {
		if !known[name] {
			stale = append(stale, name)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("names env.schema.ts no longer has: %v", stale)
	}
}

// The default Secret keys are secret variables or models' API keys, so values.yaml names nothing stale.
func TestDefaultSecretKeysAreVariables(t *testing.T) {
	var values struct {
		Secrets struct{ RequiredKeys, OptionalKeys []string }
	}
	if err := yaml.Unmarshal([]byte(readRepoFile(t, "helm/chatbox/values.yaml")), &values); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]bool{}
	for _, name := range secretVariables {
		secrets[name] = true
	}
	for _, key := range append(values.Secrets.RequiredKeys, values.Secrets.OptionalKeys...) {
		if !secrets[key] && !strings.HasSuffix(key, "_API_KEY") {
			t.Errorf("secrets key %s is neither a secret variable nor a model's API key", key)
		}
	}
}
