package helm

// The other deployment files: the Dockerfile, docker-compose.yml and .gitlab-ci.yml. No Docker engine or
// GitLab runs here, so these tests read the files and hold them to the rules their comments state.

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// pinnedImage is `name:tag@sha256:<digest>`: a tag for people, a digest for the machine.
var pinnedImage = regexp.MustCompile(`^[a-z0-9./_-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$`)

// dockerInstruction is one instruction of the Dockerfile, its continuation lines joined.
type dockerInstruction struct{ keyword, args string }

func dockerfileInstructions(t *testing.T) (syntax string, instructions []dockerInstruction) {
	t.Helper()
	var pending string
	for _, line := range strings.Split(readRepoFile(t, "Dockerfile"), "\n") {
		if strings.HasPrefix(line, "# syntax=") {
			syntax = strings.TrimPrefix(line, "# syntax=")
		}
		trimmed := strings.TrimSpace(line)
		if pending == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			pending += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		full := pending + trimmed
		pending = ""
		keyword, args, _ := strings.Cut(full, " ")
		instructions = append(instructions, dockerInstruction{strings.ToUpper(keyword), strings.TrimSpace(args)})
	}
	return syntax, instructions
}

func instructionsOf(instructions []dockerInstruction, keyword string) []string {
	var args []string
	for _, i := range instructions {
		if i.keyword == keyword {
			args = append(args, i.args)
		}
	}
	return args
}

// dockerfileBase is the image every stage starts from (one for all stages, so they bump together).
func dockerfileBase(t *testing.T) string {
	t.Helper()
	_, instructions := dockerfileInstructions(t)
	bases := map[string]bool{}
	for _, from := range instructionsOf(instructions, "FROM") {
		bases[strings.Fields(from)[0]] = true
	}
	if len(bases) != 1 {
		t.Fatalf("the Dockerfile's stages start from %d different images, want one: %v", len(bases), bases)
	}
	for base := range bases {
		return base
	}
	return ""
}

func TestDockerfileBaseIsANodeLTSPinnedByDigest(t *testing.T) {
	syntax, _ := dockerfileInstructions(t)
	if !pinnedImage.MatchString(syntax) {
		t.Errorf("the Dockerfile's syntax directive %q is not pinned by digest", syntax)
	}
	base := dockerfileBase(t)
	if !pinnedImage.MatchString(base) || !strings.HasPrefix(base, "node:") {
		t.Fatalf("base image %q: want node:<version tag>@sha256:<digest>", base)
	}
	tag := strings.TrimPrefix(strings.Split(base, "@")[0], "node:")
	major, err := strconv.Atoi(strings.Split(tag, ".")[0])
	if err != nil || !regexp.MustCompile(`^\d+\.\d+\.\d+-`).MatchString(tag) {
		t.Fatalf("base image tag %q: want an exact version such as 26.11.1-trixie-slim", tag)
	}
	// An even major is an LTS line; the engines floor (package.json) must be below it.
	var pkg struct {
		Engines struct{ Node string } `json:"engines"`
	}
	if err := json.Unmarshal([]byte(readRepoFile(t, "package.json")), &pkg); err != nil {
		t.Fatal(err)
	}
	floor, _ := strconv.Atoi(strings.Split(strings.TrimPrefix(pkg.Engines.Node, ">="), ".")[0])
	if major%2 != 0 || major < floor {
		t.Errorf("base image Node %d: want an even (LTS) major at or above the engines floor %q", major, pkg.Engines.Node)
	}
}

func TestDockerfileRunsAsTheChartRunsIt(t *testing.T) {
	_, instructions := dockerfileInstructions(t)
	last := func(keyword string) string {
		all := instructionsOf(instructions, keyword)
		if len(all) == 0 {
			t.Fatalf("the Dockerfile has no %s", keyword)
		}
		return all[len(all)-1]
	}
	if cmd := last("CMD"); cmd != `["node", "dist/main.js"]` {
		t.Errorf("CMD %s, want [\"node\", \"dist/main.js\"]", cmd)
	}
	// The chart's podSecurityContext and dataDir.
	var values struct {
		PodSecurityContext struct {
			RunAsUser  int `json:"runAsUser"`
			RunAsGroup int `json:"runAsGroup"`
		} `json:"podSecurityContext"`
		DataDir struct {
			MountPath string `json:"mountPath"`
		} `json:"dataDir"`
	}
	if err := yaml.Unmarshal([]byte(readRepoFile(t, "helm/chatbox/values.yaml")), &values); err != nil {
		t.Fatal(err)
	}
	wantUser := strconv.Itoa(values.PodSecurityContext.RunAsUser) + ":" + strconv.Itoa(values.PodSecurityContext.RunAsGroup)
	if user := last("USER"); user != wantUser {
		t.Errorf("USER %s, want the chart's %s", user, wantUser)
	}
	env := strings.Join(instructionsOf(instructions, "ENV"), " ")
	for _, want := range []string{"NODE_ENV=production", "DATA_DIR=" + values.DataDir.MountPath} {
		if !strings.Contains(env, want) {
			t.Errorf("ENV lacks %s", want)
		}
	}
	volumes := last("VOLUME")
	for _, dir := range []string{values.DataDir.MountPath, "/tmp"} {
		if !strings.Contains(volumes, `"`+dir+`"`) {
			t.Errorf("VOLUME %s does not declare %s, which the process writes", volumes, dir)
		}
	}
	// The health check probes liveness under the prefix, defaulting to the application's own default.
	healthcheck := last("HEALTHCHECK")
	prefixDefault := regexp.MustCompile(`CHATBOX_PATH_PREFIX = '([^']+)'`).FindStringSubmatch(readRepoFile(t, "src/config/env.schema.ts"))
	if prefixDefault == nil {
		t.Fatal("no CHATBOX_PATH_PREFIX default in env.schema.ts")
	}
	for _, want := range []string{`process.env.CHATBOX_PATH_PREFIX||"` + prefixDefault[1] + `"`, "/healthz", "process.env.PORT||3000"} {
		if !strings.Contains(healthcheck, want) {
			t.Errorf("HEALTHCHECK lacks %s: %s", want, healthcheck)
		}
	}
	if strings.Contains(healthcheck, "curl") || strings.Contains(healthcheck, "wget") {
		t.Errorf("HEALTHCHECK uses a tool the slim image lacks: %s", healthcheck)
	}
	// Production dependencies only in what runs.
	if !strings.Contains(readRepoFile(t, "Dockerfile"), "npm ci --omit=dev") {
		t.Error("the Dockerfile does not install the runtime's dependencies with npm ci --omit=dev")
	}
}

func TestDockerignoreKeepsSecretsAndBuildOutputOut(t *testing.T) {
	ignore := strings.Split(readRepoFile(t, ".dockerignore"), "\n")
	if len(ignore) == 0 || ignore[0] == "" {
		t.Fatal(".dockerignore is empty")
	}
	var rules []string
	for _, line := range ignore {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			rules = append(rules, line)
		}
	}
	// An allow-list: everything out, then the build's inputs back in.
	if rules[0] != "*" {
		t.Fatalf(".dockerignore starts with %q, want * (an allow-list)", rules[0])
	}
	for _, rule := range rules[1:] {
		for _, never := range []string{".env", ".data", ".tools", "node_modules", "dist", ".git"} {
			if strings.HasPrefix(rule, "!") && strings.HasPrefix(strings.TrimPrefix(rule, "!"), never) {
				t.Errorf(".dockerignore lets %s into the build context", never)
			}
		}
	}
}

// secretName says whether an environment variable carries a secret.
func secretName(name string) bool {
	for _, s := range secretVariables {
		if name == s {
			return true
		}
	}
	return regexp.MustCompile(`PASSWORD|SECRET|TOKEN|_KEY$|_AUTH$|API_KEY`).MatchString(name)
}

// interpolated is a value Compose takes from the environment: `${VAR}`, `${VAR:?message}`, `${VAR:-}`.
var interpolated = regexp.MustCompile(`^\$\{[A-Z0-9_]+(:[?-][^}]*)?\}$`)

// credentialsInURL finds the user information of a URL (`scheme://user:password@host…`).
var credentialsInURL = regexp.MustCompile(`^[a-z+]+://([^@/]*)@`)

// writtenSecret says whether a variable's value in a file is a secret itself: a secret variable's literal
// value, or a URL's password that is not taken from the environment (`$VAR` in GitLab, `${VAR…}` in
// Compose). A URL without a password (a service on the job's network) holds none.
func writtenSecret(variable, value string) bool {
	fromEnvironment := func(v string) bool { return interpolated.MatchString(v) || ciVariable.MatchString(v) }
	if m := credentialsInURL.FindStringSubmatch(value); m != nil {
		_, password, _ := strings.Cut(m[1], ":")
		return password != "" && !fromEnvironment(password)
	}
	if regexp.MustCompile(`^[a-z+]+://`).MatchString(value) {
		return false
	}
	return secretName(variable) && value != "" && !fromEnvironment(value)
}

func TestDockerComposeIsPinnedAndHoldsNoSecret(t *testing.T) {
	var compose struct {
		Services map[string]struct {
			Image       string            `json:"image"`
			Build       any               `json:"build"`
			Environment map[string]string `json:"environment"`
			ReadOnly    bool              `json:"read_only"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal([]byte(readRepoFile(t, "docker-compose.yml")), &compose); err != nil {
		t.Fatal(err)
	}
	ci := gitlabVariables(t)
	images := map[string]string{}
	for name, service := range compose.Services {
		if service.Build == nil {
			if !pinnedImage.MatchString(service.Image) {
				t.Errorf("service %s: image %q is not pinned by digest", name, service.Image)
			}
			images[strings.Split(service.Image, ":")[0]] = service.Image
		} else if !service.ReadOnly {
			t.Errorf("service %s (Chatbox) does not run on a read-only root filesystem", name)
		}
		for variable, value := range service.Environment {
			if writtenSecret(variable, value) {
				t.Errorf("service %s: %s holds a secret written in the file, want ${…:?…} from the environment", name, variable)
			}
		}
	}
	// MongoDB 7 and Redis 7, the same images as the CI's services.
	for image, ciVariable := range map[string]string{"mongo": "MONGO_IMAGE", "redis": "REDIS_IMAGE"} {
		if !strings.HasPrefix(images[image], image+":7.") {
			t.Errorf("docker-compose.yml: %s image %q, want %s 7", image, images[image], image)
		}
		if images[image] != ci[ciVariable] {
			t.Errorf("docker-compose.yml's %s image %q differs from .gitlab-ci.yml's %s %q", image, images[image], ciVariable, ci[ciVariable])
		}
	}
}

// gitlabCI is .gitlab-ci.yml as data.
func gitlabCI(t *testing.T) map[string]any {
	t.Helper()
	var ci map[string]any
	if err := yaml.Unmarshal([]byte(readRepoFile(t, ".gitlab-ci.yml")), &ci); err != nil {
		t.Fatal(err)
	}
	return ci
}

func gitlabVariables(t *testing.T) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for name, value := range gitlabCI(t)["variables"].(map[string]any) {
		vars[name], _ = value.(string)
	}
	return vars
}

// gitlabGlobalKeywords are the top-level keys of .gitlab-ci.yml that are not jobs.
var gitlabGlobalKeywords = map[string]bool{
	"default": true, "include": true, "stages": true, "variables": true, "workflow": true,
	"image": true, "services": true, "cache": true, "before_script": true, "after_script": true,
}

// gitlabJobs are the jobs with their `extends` templates merged in (deeply, as GitLab does).
func gitlabJobs(t *testing.T) map[string]map[string]any {
	t.Helper()
	ci := gitlabCI(t)
	var resolve func(name string, depth int) map[string]any
	resolve = func(name string, depth int) map[string]any {
		if depth > 10 {
			t.Fatalf("extends loop at %s", name)
		}
		job, ok := ci[name].(map[string]any)
		if !ok {
			t.Fatalf("%s is not a job or template", name)
		}
		merged := map[string]any{}
		if parent, ok := job["extends"].(string); ok {
			merged = resolve(parent, depth+1)
		}
		return deepMerge(merged, job)
	}
	jobs := map[string]map[string]any{}
	for name := range ci {
		if !gitlabGlobalKeywords[name] && !strings.HasPrefix(name, ".") {
			jobs[name] = resolve(name, 0)
		}
	}
	if len(jobs) < 8 {
		t.Fatalf("read only %d jobs", len(jobs))
	}
	return jobs
}

func deepMerge(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if b, ok := out[k].(map[string]any); ok {
			if o, ok := v.(map[string]any); ok {
				out[k] = deepMerge(b, o)
				continue
			}
		}
		out[k] = v
	}
	return out
}

var ciVariable = regexp.MustCompile(`^\$\{?([A-Z0-9_]+)\}?$`)

func TestGitlabJobsHaveTimeoutsAndPinnedImages(t *testing.T) {
	jobs := gitlabJobs(t)
	vars := gitlabVariables(t)
	expand := func(reference string) string {
		if m := ciVariable.FindStringSubmatch(reference); m != nil {
			return vars[m[1]]
		}
		return reference
	}
	imageName := func(v any) string {
		switch image := v.(type) {
		case string:
			return image
		case map[string]any:
			name, _ := image["name"].(string)
			return name
		}
		return ""
	}
	var names []string
	for name := range jobs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		job := jobs[name]
		if timeout, _ := job["timeout"].(string); !regexp.MustCompile(`^\d+[mh]$`).MatchString(timeout) {
			t.Errorf("job %s: timeout %q, want an explicit one such as 15m", name, job["timeout"])
		}
		references := []string{imageName(job["image"])}
		services, _ := job["services"].([]any)
		for _, service := range services {
			references = append(references, imageName(service))
		}
		for _, reference := range references {
			if image := expand(reference); !pinnedImage.MatchString(image) {
				t.Errorf("job %s: image %q (%q) is not pinned by digest", name, reference, image)
			}
		}
		// No secret is written in a job's variables: they come from GitLab's (masked) variables.
		jobVars, _ := job["variables"].(map[string]any)
		for variable, value := range jobVars {
			if text, _ := value.(string); writtenSecret(variable, text) {
				t.Errorf("job %s: %s holds a secret written in the file", name, variable)
			}
		}
	}
	for variable, value := range vars {
		if writtenSecret(variable, value) {
			t.Errorf(".gitlab-ci.yml: %s holds a secret written in the file", variable)
		}
	}
	if vars["NODE_IMAGE"] != dockerfileBase(t) {
		t.Errorf("NODE_IMAGE %q is not the Dockerfile's base %q", vars["NODE_IMAGE"], dockerfileBase(t))
	}
}

func TestGitlabRunsEveryCheckTheIssueAsks(t *testing.T) {
	jobs := gitlabJobs(t)
	scripts := map[string]string{}
	for name, job := range jobs {
		var lines []string
		for _, key := range []string{"before_script", "script"} {
			list, _ := job[key].([]any)
			for _, line := range list {
				lines = append(lines, line.(string))
			}
		}
		scripts[name] = strings.Join(lines, "\n")
	}
	find := func(what string) string {
		for _, name := range []string{"lint", "typecheck", "build", "npm-audit", "helm", "test", "faults", "image-build", "image-scan"} {
			if strings.Contains(scripts[name], what) {
				return name
			}
		}
		t.Errorf(".gitlab-ci.yml runs no %q", what)
		return ""
	}
	for _, what := range []string{"npm run lint", "npm run typecheck", "npm run build", "npm audit --omit=dev", "helm\" lint --strict", "go test", "npm test", "npm run test:faults", "docker buildx build", "--secret", "trivy image"} {
		find(what)
	}
	// The suite on real MongoDB 7 and Redis 7.
	test := jobs["test"]
	vars, _ := test["variables"].(map[string]any)
	if vars["MONGODB_URI"] == nil || vars["REDIS_URL"] == nil {
		t.Error("the test job does not point the suite at the MongoDB and Redis services")
	}
	// Coverage into merge requests: Jest writes Cobertura, the job reports it.
	reports, _ := test["artifacts"].(map[string]any)["reports"].(map[string]any)
	coverage, _ := reports["coverage_report"].(map[string]any)
	if coverage["coverage_format"] != "cobertura" || coverage["path"] != "coverage/cobertura-coverage.xml" {
		t.Errorf("test job's coverage_report %v, want cobertura from coverage/cobertura-coverage.xml", coverage)
	}
	if !strings.Contains(readRepoFile(t, "jest.config.js"), "'cobertura'") {
		t.Error("jest.config.js's coverageReporters lack cobertura")
	}
	pattern, _ := test["coverage"].(string)
	re, err := regexp.Compile(strings.Trim(pattern, "/"))
	if err != nil || re.FindStringSubmatch("Lines        : 91.23% ( 8123/8904 )") == nil {
		t.Errorf("test job's coverage pattern %q does not read Jest's text summary", pattern)
	}
}
