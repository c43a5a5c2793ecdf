package helm

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
)

var (
	defaultValues = []string{}
	customValues  = []string{"-f", chartDir + "/ci/custom-values.yaml"}
	tokenValues   = []string{"-f", chartDir + "/ci/metrics-token-values.yaml"}
)

func TestStrictDecoderRefusesUnknownFields(t *testing.T) {
	for _, doc := range []string{
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  prots: []\n",
		"apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: x\nspec:\n  endpoints:\n    - prots: http\n",
	} {
		if _, _, err := strictDecoder.Decode([]byte(doc), nil, nil); err == nil || !strings.Contains(err.Error(), "prots") {
			t.Errorf("want an unknown-field error naming prots, got %v", err)
		}
	}
}

func TestEveryRenderingDecodesStrictly(t *testing.T) {
	cases := map[string]struct {
		args  []string
		kinds []string
	}{
		"default":       {defaultValues, []string{"ConfigMap", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy", "PodDisruptionBudget", "Service"}},
		"custom":        {customValues, []string{"ConfigMap", "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Ingress", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceMonitor"}},
		"metrics-token": {tokenValues, []string{"ConfigMap", "Deployment", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceMonitor"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := render(t, c.args...)
			var kinds []string
			for _, obj := range r.objects {
				kinds = append(kinds, strings.TrimPrefix(fmt.Sprintf("%T", obj), "*"))
			}
			got := strings.Join(sortedKinds(kinds), ",")
			if want := strings.Join(c.kinds, ","); got != want {
				t.Fatalf("kinds: got %s, want %s", got, want)
			}
		})
	}
}

// sortedKinds turns Go type names (v1.Service) into sorted kinds (Service).
func sortedKinds(typeNames []string) []string {
	kinds := make([]string, len(typeNames))
	for i, name := range typeNames {
		kinds[i] = name[strings.LastIndex(name, ".")+1:]
	}
	sort.Strings(kinds)
	return kinds
}

func container(t *testing.T, r rendered) corev1.Container {
	t.Helper()
	containers := only[*appsv1.Deployment](t, r).Spec.Template.Spec.Containers
	if len(containers) != 1 {
		t.Fatalf("want one container, got %d", len(containers))
	}
	return containers[0]
}

// appConfig is the ConfigMap of the app's environment (the dashboard has another).
func appConfig(t *testing.T, r rendered) *corev1.ConfigMap {
	t.Helper()
	for _, cm := range all[*corev1.ConfigMap](r) {
		if cm.Name == "chatbox" {
			return cm
		}
	}
	t.Fatal("no ConfigMap chatbox")
	return nil
}

func containerPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container has no port %q", name)
	return 0
}

func TestProbesAndIngressFollowThePrefix(t *testing.T) {
	cases := map[string]struct {
		args   []string
		prefix string
		port   int32
	}{
		"default": {defaultValues, "/chatbox", 3000},
		"custom":  {customValues, "/support/chat", 8080},
		"set":     {[]string{"--set", "config.CHATBOX_PATH_PREFIX=/a/b", "--set", "ingress.enabled=true"}, "/a/b", 3000},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := render(t, c.args...)
			ctr := container(t, r)
			probes := map[string]*corev1.Probe{"startup": ctr.StartupProbe, "liveness": ctr.LivenessProbe, "readiness": ctr.ReadinessProbe}
			want := map[string]string{"startup": c.prefix + "/healthz", "liveness": c.prefix + "/healthz", "readiness": c.prefix + "/readyz"}
			for kind, probe := range probes {
				if probe == nil || probe.HTTPGet == nil {
					t.Fatalf("%s probe is not an HTTP GET", kind)
				}
				if probe.HTTPGet.Path != want[kind] || probe.HTTPGet.Port.String() != "http" {
					t.Errorf("%s probe: GET %s on port %s, want %s on http", kind, probe.HTTPGet.Path, probe.HTTPGet.Port.String(), want[kind])
				}
			}
			if got := containerPort(t, ctr, "http"); got != c.port {
				t.Errorf("http port %d, want PORT %d", got, c.port)
			}
			cm := appConfig(t, r)
			if cm.Data["CHATBOX_PATH_PREFIX"] != c.prefix || cm.Data["PORT"] != fmt.Sprint(c.port) {
				t.Errorf("ConfigMap gives the app prefix %q port %q", cm.Data["CHATBOX_PATH_PREFIX"], cm.Data["PORT"])
			}
			ingresses := all[*networkingv1.Ingress](r)
			if name == "default" {
				if len(ingresses) != 0 {
					t.Fatal("the Ingress is off by default")
				}
				return
			}
			ing := ingresses[0]
			for _, rule := range ing.Spec.Rules {
				for _, p := range rule.HTTP.Paths {
					if p.Path != c.prefix || *p.PathType != networkingv1.PathTypePrefix || p.Backend.Service.Port.Name != "http" {
						t.Errorf("ingress path %s (%s) to port %q, want %s (Prefix) to http", p.Path, *p.PathType, p.Backend.Service.Port.Name, c.prefix)
					}
				}
			}
			for _, key := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
				if ing.Annotations["nginx.ingress.kubernetes.io/"+key] != "3600" {
					t.Errorf("annotation %s = %q, want 3600", key, ing.Annotations["nginx.ingress.kubernetes.io/"+key])
				}
			}
			affinity := name == "custom"
			if got := ing.Annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"; got != affinity {
				t.Errorf("cookie affinity %v, want %v", got, affinity)
			}
			if affinity && ing.Annotations["nginx.ingress.kubernetes.io/session-cookie-path"] != c.prefix {
				t.Errorf("affinity cookie path %q, want %s", ing.Annotations["nginx.ingress.kubernetes.io/session-cookie-path"], c.prefix)
			}
		})
	}
}

func TestLargeNumbersReachTheAppAsIntegers(t *testing.T) {
	r := render(t, customValues...)
	if got := appConfig(t, r).Data["HTTP_BODY_LIMIT_BYTES"]; got != "52428800" {
		t.Errorf("ConfigMap HTTP_BODY_LIMIT_BYTES %q, want 52428800", got)
	}
	if got := only[*networkingv1.Ingress](t, r).Annotations["nginx.ingress.kubernetes.io/proxy-body-size"]; got != "52428800" {
		t.Errorf("ingress proxy-body-size %q, want HTTP_BODY_LIMIT_BYTES 52428800", got)
	}
}

func TestIngressLetsTheLargestUploadThrough(t *testing.T) {
	// An upload larger than a request body gets through, with room for its multipart framing.
	r := render(t, "--set", "ingress.enabled=true", "--set", "config.UPLOAD_MAX_BYTES=104857600")
	if got := only[*networkingv1.Ingress](t, r).Annotations["nginx.ingress.kubernetes.io/proxy-body-size"]; got != "104923136" {
		t.Errorf("ingress proxy-body-size %q, want UPLOAD_MAX_BYTES 104857600 + 65536", got)
	}
}

func TestServiceMonitorScrapesMetricsWhereTheValuesPutIt(t *testing.T) {
	t.Run("metrics port", func(t *testing.T) {
		r := render(t, customValues...)
		if got := containerPort(t, container(t, r), "metrics"); got != 9464 {
			t.Fatalf("metrics container port %d, want METRICS_PORT 9464", got)
		}
		svc := only[*corev1.Service](t, r)
		found := false
		for _, p := range svc.Spec.Ports {
			found = found || (p.Name == "metrics" && p.Port == 9464 && p.TargetPort.String() == "metrics")
		}
		if !found {
			t.Fatalf("Service has no port metrics 9464 -> metrics: %+v", svc.Spec.Ports)
		}
		ep := only[*monitoringv1.ServiceMonitor](t, r).Spec.Endpoints
		if len(ep) != 1 || ep[0].Port != "metrics" || ep[0].Path != "/metrics" || ep[0].Authorization != nil {
			t.Fatalf("endpoints %+v, want /metrics on port metrics without a token", ep)
		}
		if !strings.Contains(only[*monitoringv1.ServiceMonitor](t, r).Labels["release"], "prometheus") {
			t.Error("the ServiceMonitor lacks its custom label")
		}
		assertMonitoringMayScrape(t, r, "metrics")
	})
	t.Run("bearer token", func(t *testing.T) {
		r := render(t, tokenValues...)
		for _, p := range container(t, r).Ports {
			if p.Name == "metrics" {
				t.Fatal("no metrics port without METRICS_PORT")
			}
		}
		ep := only[*monitoringv1.ServiceMonitor](t, r).Spec.Endpoints
		if len(ep) != 1 || ep[0].Port != "http" || ep[0].Path != "/metrics" || ep[0].Authorization == nil {
			t.Fatalf("endpoints %+v, want /metrics on port http with a token", ep)
		}
		creds := ep[0].Authorization.Credentials
		if ep[0].Authorization.Type != "Bearer" || creds.Name != "chatbox" || creds.Key != "METRICS_TOKEN" {
			t.Fatalf("authorization %s from %s/%s, want Bearer from chatbox/METRICS_TOKEN", ep[0].Authorization.Type, creds.Name, creds.Key)
		}
		assertMonitoringMayScrape(t, r, "http")
	})
}

func assertMonitoringMayScrape(t *testing.T, r rendered, port string) {
	t.Helper()
	for _, rule := range only[*networkingv1.NetworkPolicy](t, r).Spec.Ingress {
		for _, peer := range rule.From {
			if peer.NamespaceSelector != nil && peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "monitoring" {
				if len(rule.Ports) != 1 || rule.Ports[0].Port.String() != port {
					t.Fatalf("monitoring may reach %+v, want port %s", rule.Ports, port)
				}
				return
			}
		}
	}
	t.Fatal("the NetworkPolicy lets no monitoring in")
}

func TestImageIsImmutable(t *testing.T) {
	renderFails(t, "`latest` is mutable and refused", "--set", "image.tag=latest")
	if got := container(t, render(t)).Image; got != "chatbox:0.1.0" {
		t.Errorf("default image %s, want the appVersion tag chatbox:0.1.0", got)
	}
	if got := container(t, render(t, customValues...)).Image; !regexp.MustCompile(`^registry\.example\.com/chatbox@sha256:[0-9a-f]{64}$`).MatchString(got) {
		t.Errorf("custom image %s, want a digest", got)
	}
	renderFails(t, "digest", "--set", "image.digest=sha256:short")
}

func TestSecretsComeOnlyFromTheExistingSecret(t *testing.T) {
	renderFails(t, "JWT_SECRET", "--set", "config.JWT_SECRET=not-here")
	renderFails(t, "METRICS_TOKEN", "--set", "config.METRICS_TOKEN=not-here")
	refs := map[string]*corev1.SecretKeySelector{}
	for _, env := range container(t, render(t, customValues...)).Env {
		if env.ValueFrom != nil && env.ValueFrom.SecretKeyRef != nil {
			refs[env.Name] = env.ValueFrom.SecretKeyRef
		}
	}
	want := map[string]bool{"JWT_SECRET": false, "ENCRYPTION_KEYS": false, "MONGODB_URI": false, "REDIS_URL": false, "OPENAI_API_KEY": true, "SMTP_URL": true}
	if len(refs) != len(want) {
		t.Fatalf("secret references %v, want %v", refs, want)
	}
	for name, optional := range want {
		ref := refs[name]
		if ref == nil || ref.Name != "chatbox-production" || ref.Key != name || ref.Optional == nil || *ref.Optional != optional {
			t.Errorf("%s: %+v, want key %s of chatbox-production, optional %v", name, ref, name, optional)
		}
	}
}

func TestValuesThatProductionWouldRefuseAreRefused(t *testing.T) {
	renderFails(t, "REDIS_URL", "--set", "secrets.requiredKeys={JWT_SECRET,ENCRYPTION_KEY,MONGODB_URI,METRICS_TOKEN}")
	renderFails(t, "METRICS_TOKEN", "--set", "secrets.requiredKeys={JWT_SECRET,ENCRYPTION_KEY,MONGODB_URI,REDIS_URL}")
	renderFails(t, "MONGODB_URI", "--set", "secrets.requiredKeys={JWT_SECRET,ENCRYPTION_KEY,REDIS_URL,METRICS_TOKEN}")
	renderFails(t, "SHUTDOWN_DRAIN_DELAY_MS", "--set", "config.SHUTDOWN_DRAIN_DELAY_MS=25000")
	renderFails(t, "METRICS_PORT", "--set", "config.METRICS_PORT=3000")
	renderFails(t, "additional properties", "--set", "config.NOT_A_VARIABLE=1")
	// One replica without Redis is a valid deployment.
	render(t, "--set", "autoscaling.enabled=false", "--set", "replicaCount=1", "--set", "secrets.requiredKeys={JWT_SECRET,ENCRYPTION_KEY,MONGODB_URI,METRICS_TOKEN}")
}

func TestValuesSchemaRefusesAWrongType(t *testing.T) {
	renderFails(t, "at '/replicaCount': got string, want integer", "--set-string", "replicaCount=three")
	renderFails(t, "at '/config/LOG_LEVEL': got number, want string", "--set", "config.LOG_LEVEL=7")
}

func TestFilesOnDiskNeedAVolumeThatOutlivesThePod(t *testing.T) {
	// On the pod's emptyDir, files die with the pod and the other replicas never see them: even one replica is refused.
	renderFails(t, "STORAGE_DRIVER", "--set", "config.STORAGE_DRIVER=disk")
	renderFails(t, "STORAGE_DRIVER", "--set", "config.STORAGE_DRIVER=disk", "--set", "autoscaling.enabled=false", "--set", "replicaCount=1")
	// The default keeps files in a bucket; DATA_DIR is then only a staging area.
	if data := dataVolume(t, render(t, defaultValues...)); data.EmptyDir == nil {
		t.Errorf("default data volume %+v, want an emptyDir", data)
	}
	data := dataVolume(t, render(t, "--set", "config.STORAGE_DRIVER=disk", "--set", "dataDir.existingClaim=chatbox-files"))
	if data.PersistentVolumeClaim == nil || data.PersistentVolumeClaim.ClaimName != "chatbox-files" || data.EmptyDir != nil {
		t.Errorf("data volume %+v, want the claim chatbox-files", data)
	}
}

func TestRolloutsNeverRunTwoPodsThatCannotCoexist(t *testing.T) {
	noRedis := []string{"--set", "autoscaling.enabled=false", "--set", "replicaCount=1", "--set", "secrets.requiredKeys={JWT_SECRET,ENCRYPTION_KEY,MONGODB_URI,METRICS_TOKEN}"}
	for name, c := range map[string]struct {
		args []string
		want appsv1.DeploymentStrategyType
	}{
		"with Redis":                {defaultValues, appsv1.RollingUpdateDeploymentStrategyType},
		"one replica without Redis": {noRedis, appsv1.RecreateDeploymentStrategyType},
		"a ReadWriteOnce claim":     {[]string{"--set", "config.STORAGE_DRIVER=disk", "--set", "dataDir.existingClaim=files", "--set", "updateStrategy=Recreate"}, appsv1.RecreateDeploymentStrategyType},
	} {
		t.Run(name, func(t *testing.T) {
			strategy := only[*appsv1.Deployment](t, render(t, c.args...)).Spec.Strategy
			if strategy.Type != c.want || (c.want == appsv1.RecreateDeploymentStrategyType) != (strategy.RollingUpdate == nil) {
				t.Errorf("strategy %+v, want %s", strategy, c.want)
			}
		})
	}
	renderFails(t, "updateStrategy", "--set", "updateStrategy=BlueGreen")
}

// The volume mounted as DATA_DIR.
func dataVolume(t *testing.T, r rendered) corev1.VolumeSource {
	t.Helper()
	for _, v := range only[*appsv1.Deployment](t, r).Spec.Template.Spec.Volumes {
		if v.Name == "data" {
			return v.VolumeSource
		}
	}
	t.Fatal("no data volume")
	return corev1.VolumeSource{}
}

func TestPodIsHardenedAndOutlivesTheShutdownTimeout(t *testing.T) {
	for name, c := range map[string]struct {
		args             []string
		shutdownTimeoutS int64
	}{"default": {defaultValues, 25}, "custom": {customValues, 40}} {
		t.Run(name, func(t *testing.T) {
			r := render(t, c.args...)
			pod := only[*appsv1.Deployment](t, r).Spec.Template.Spec
			if grace := *pod.TerminationGracePeriodSeconds; grace <= c.shutdownTimeoutS {
				t.Errorf("terminationGracePeriodSeconds %d, want above SHUTDOWN_TIMEOUT_MS (%d s)", grace, c.shutdownTimeoutS)
			}
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Error("the service account token is mounted")
			}
			if psc := pod.SecurityContext; psc == nil || !*psc.RunAsNonRoot || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("pod security context %+v", psc)
			}
			ctr := container(t, r)
			sc := ctr.SecurityContext
			if sc == nil || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || !*sc.RunAsNonRoot ||
				len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("container security context %+v", sc)
			}
			if ctr.Resources.Requests.Cpu().IsZero() || ctr.Resources.Limits.Memory().IsZero() {
				t.Error("no CPU request or memory limit")
			}
			env := map[string]string{}
			for _, e := range ctr.Env {
				env[e.Name] = e.Value
			}
			if env["NODE_ENV"] != "production" || env["HOST"] != "0.0.0.0" {
				t.Errorf("NODE_ENV %q HOST %q", env["NODE_ENV"], env["HOST"])
			}
			emptyDirs := map[string]bool{}
			for _, v := range pod.Volumes {
				emptyDirs[v.Name] = v.EmptyDir != nil
			}
			mounted := map[string]bool{}
			for _, m := range ctr.VolumeMounts {
				if !emptyDirs[m.Name] {
					t.Errorf("mount %s is not an emptyDir", m.MountPath)
				}
				mounted[m.MountPath] = true
			}
			if !mounted[env["DATA_DIR"]] || !mounted["/tmp"] {
				t.Errorf("DATA_DIR %q and /tmp must be writable emptyDirs, mounts %v", env["DATA_DIR"], mounted)
			}
		})
	}
}

func TestAutoscalingAndDisruptionBudget(t *testing.T) {
	metrics := exportedMetrics(t)
	r := render(t, customValues...)
	if only[*appsv1.Deployment](t, r).Spec.Replicas != nil {
		t.Error("the Deployment sets replicas while the HPA owns them")
	}
	hpa := only[*autoscalingv2.HorizontalPodAutoscaler](t, r)
	var cpu, pods bool
	for _, m := range hpa.Spec.Metrics {
		switch m.Type {
		case autoscalingv2.ResourceMetricSourceType:
			cpu = m.Resource.Name == corev1.ResourceCPU
		case autoscalingv2.PodsMetricSourceType:
			pods = true
			if !metrics[m.Pods.Metric.Name] {
				t.Errorf("the HPA scales on %s, which Chatbox does not export", m.Pods.Metric.Name)
			}
		}
	}
	if !cpu || !pods {
		t.Errorf("HPA metrics %+v, want CPU and chatbox_websocket_connections", hpa.Spec.Metrics)
	}
	if len(only[*autoscalingv2.HorizontalPodAutoscaler](t, render(t)).Spec.Metrics) != 1 {
		t.Error("by default the HPA scales on CPU only")
	}
	fixed := render(t, tokenValues...)
	if replicas := only[*appsv1.Deployment](t, fixed).Spec.Replicas; replicas == nil || *replicas != 3 {
		t.Errorf("replicas %v, want 3 without an HPA", replicas)
	}
	pdb := only[*policyv1.PodDisruptionBudget](t, fixed)
	if pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.Selector.MatchLabels["app.kubernetes.io/instance"] != "chatbox" {
		t.Errorf("PDB %+v", pdb.Spec)
	}
}

func TestNetworkPolicyRendersOnlyTheDestinationsGiven(t *testing.T) {
	for name, c := range map[string]struct {
		args  []string
		rules int
	}{"default": {defaultValues, 4}, "custom": {customValues, 5}} {
		t.Run(name, func(t *testing.T) {
			np := only[*networkingv1.NetworkPolicy](t, render(t, c.args...))
			if len(np.Spec.Egress) != c.rules {
				t.Fatalf("%d egress rules, want %d (dns, llm, mongodb, redis, and smtp when given)", len(np.Spec.Egress), c.rules)
			}
			for _, rule := range np.Spec.Egress {
				if len(rule.To) == 0 || len(rule.Ports) == 0 {
					t.Errorf("egress rule %+v allows every destination or port", rule)
				}
			}
			if len(np.Spec.Ingress) != 2 {
				t.Errorf("ingress rules %+v, want the ingress controller and monitoring", np.Spec.Ingress)
			}
		})
	}
}

func TestDashboardShowsMetricsThatExist(t *testing.T) {
	metrics := exportedMetrics(t)
	cm := all[*corev1.ConfigMap](render(t, customValues...))
	var dashboard string
	for _, c := range cm {
		if c.Labels["grafana_dashboard"] == "1" {
			dashboard = c.Data["chatbox.json"]
		}
	}
	var parsed struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal([]byte(dashboard), &parsed); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	used := map[string]bool{}
	for _, p := range parsed.Panels {
		for _, target := range p.Targets {
			for _, name := range regexp.MustCompile(`chatbox_[a-z_]+`).FindAllString(target.Expr, -1) {
				name = strings.TrimSuffix(name, "_bucket")
				if !metrics[name] {
					t.Errorf("panel %q queries %s, which Chatbox does not export", p.Title, name)
				}
				used[name] = true
			}
		}
	}
	for _, name := range []string{"chatbox_ai_turns_total", "chatbox_ai_first_delta_seconds", "chatbox_websocket_connections", "chatbox_help_requests_total", "chatbox_help_pickup_seconds"} {
		if !used[name] {
			t.Errorf("no panel shows %s", name)
		}
	}
}
