package check

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// manifests are the objects one kustomization renders, decoded into their API types.
type manifests struct {
	deployment     *appsv1.Deployment
	service        *corev1.Service
	configMap      *corev1.ConfigMap
	serviceAccount *corev1.ServiceAccount
	pdb            *policyv1.PodDisruptionBudget
	serviceMonitor *monitoringv1.ServiceMonitor
	count          int
}

// render builds a kustomization with kustomize's own library (what kubectl apply -k
// runs) and decodes every object strictly: an unknown or duplicate field, a wrong
// type or a kind outside the API types named here fails the test.
func render(t *testing.T, dir string) manifests {
	t.Helper()
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot, dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme, monitoringv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	strict := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Yaml: true, Strict: true})
	var m manifests
	for _, res := range resMap.Resources() {
		y, err := res.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		obj, gvk, err := strict.Decode(y, nil, nil)
		if err != nil {
			t.Fatalf("%s: %s %s does not decode strictly: %v\n%s", dir, res.GetKind(), res.GetName(), err, y)
		}
		switch o := obj.(type) {
		case *appsv1.Deployment:
			m.deployment = o
		case *corev1.Service:
			m.service = o
		case *corev1.ConfigMap:
			m.configMap = o
		case *corev1.ServiceAccount:
			m.serviceAccount = o
		case *policyv1.PodDisruptionBudget:
			m.pdb = o
		case *monitoringv1.ServiceMonitor:
			m.serviceMonitor = o
		default:
			t.Fatalf("%s renders a %v this test does not check", dir, gvk)
		}
		m.count++
	}
	if m.deployment == nil || m.service == nil || m.configMap == nil || m.serviceAccount == nil || m.pdb == nil {
		t.Fatalf("%s: missing objects: deployment %v, service %v, configmap %v, serviceaccount %v, pdb %v", dir,
			m.deployment != nil, m.service != nil, m.configMap != nil, m.serviceAccount != nil, m.pdb != nil)
	}
	return m
}

func (m manifests) container(t *testing.T) corev1.Container {
	t.Helper()
	cs := m.deployment.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("the Deployment has %d containers, want 1", len(cs))
	}
	return cs[0]
}

func (m manifests) mount(t *testing.T, volumeFor func(corev1.Volume) bool) corev1.VolumeMount {
	t.Helper()
	for _, v := range m.deployment.Spec.Template.Spec.Volumes {
		if volumeFor(v) {
			for _, vm := range m.container(t).VolumeMounts {
				if vm.Name == v.Name {
					return vm
				}
			}
		}
	}
	t.Fatal("no such volume mounted")
	return corev1.VolumeMount{}
}

// tmpVolume reports whether the pod mounts a writable, size-limited emptyDir at /tmp:
// with a read-only root, it is where a transaction spools the records Kafka is too slow
// for (os.TempDir()).
func tmpVolume(m manifests) bool {
	for _, v := range m.deployment.Spec.Template.Spec.Volumes {
		if v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil || v.EmptyDir.SizeLimit.IsZero() {
			continue
		}
		for _, c := range m.deployment.Spec.Template.Spec.Containers {
			for _, vm := range c.VolumeMounts {
				if vm.Name == v.Name && vm.MountPath == "/tmp" && !vm.ReadOnly {
					return true
				}
			}
		}
	}
	return false
}

// measuredPeakRSS is the upper figure of the README's measured peak RSS of a
// 60,000-row window, in MiB.
func measuredPeakRSS(t *testing.T) int64 {
	t.Helper()
	m := regexp.MustCompile(`(\d+)–(\d+) MiB peak RSS`).FindStringSubmatch(string(readFile(t, "README.md")))
	if m == nil {
		t.Fatal("README: no measured peak RSS (N–M MiB peak RSS) in Performance")
	}
	v, _ := strconv.ParseInt(m[2], 10, 64)
	return v
}

type check struct {
	name string
	ok   bool
	got  any
}

func runChecks(t *testing.T, checks []check) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Errorf("not so: %+v", c.got)
			}
		})
	}
}

// workloadChecks hold for every rendering: the pod is what the image and the worker
// expect, restricted, probed, sized from the measured figures, and the Service and
// PodDisruptionBudget select it.
func workloadChecks(t *testing.T, m manifests) []check {
	img := parseDockerfile(t, "Dockerfile")
	c := m.container(t)
	pod := m.deployment.Spec.Template.Spec
	podLabels := labels.Set(m.deployment.Spec.Template.Labels)
	uid, _, _ := imageUser(img.final)
	psc, sc := pod.SecurityContext, c.SecurityContext
	var httpPort int32
	for _, p := range c.Ports {
		if p.Name == "http" {
			httpPort = p.ContainerPort
		}
	}
	probe := func(p *corev1.Probe, path string) bool {
		return p != nil && p.HTTPGet != nil && p.HTTPGet.Path == path && p.HTTPGet.Port == intstr.FromString("http")
	}
	selects := func(sel map[string]string) bool {
		return len(sel) > 0 && labels.SelectorFromSet(sel).Matches(podLabels)
	}
	peak := resource.MustParse(strconv.FormatInt(measuredPeakRSS(t), 10) + "Mi")
	req, lim := c.Resources.Requests, c.Resources.Limits
	var goMemLimit resource.Quantity
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			goMemLimit = resource.MustParse(strings.TrimSuffix(e.Value, "B")) // 320MiB → 320Mi
		}
	}
	imageArgs := imageCommand(t, img)[1:]
	return []check{
		{"one container, the image's command", slices.Equal(c.Args, imageArgs) && len(c.Command) == 0, c.Args},
		{"the http port is the image's EXPOSE", httpPort != 0 && exposesPort(img.final, strconv.Itoa(int(httpPort))), httpPort},
		{"liveness probes /healthz", probe(c.LivenessProbe, "/healthz"), c.LivenessProbe},
		{"readiness probes /readyz", probe(c.ReadinessProbe, "/readyz"), c.ReadinessProbe},
		{"runs as the image's non-root user", psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot && psc.RunAsUser != nil && *psc.RunAsUser == int64(uid), psc},
		{"seccomp RuntimeDefault", psc != nil && psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault, psc},
		{"no privilege escalation", sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, sc},
		{"read-only root file system", sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, sc},
		{"a writable emptyDir at /tmp (the transactions' spool, sink.SpoolDir), bounded", tmpVolume(m), pod.Volumes},
		{"every capability dropped", sc != nil && sc.Capabilities != nil && slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) && len(sc.Capabilities.Add) == 0, sc},
		{"not privileged, no host namespaces", (sc == nil || sc.Privileged == nil || !*sc.Privileged) && !pod.HostNetwork && !pod.HostPID && !pod.HostIPC, sc},
		{"no service account token", pod.AutomountServiceAccountToken != nil && !*pod.AutomountServiceAccountToken, pod.AutomountServiceAccountToken},
		{"memory request covers the measured peak RSS", req.Memory().Cmp(peak) >= 0, req.Memory().String() + " vs " + peak.String()},
		{"memory limit above the request", lim.Memory().Cmp(*req.Memory()) > 0, lim.Memory().String()},
		{"GOMEMLIMIT between the measured peak and the memory limit", !goMemLimit.IsZero() && goMemLimit.Cmp(peak) > 0 && goMemLimit.Cmp(*lim.Memory()) < 0, goMemLimit.String()},
		{"CPU requested and limited", !req.Cpu().IsZero() && lim.Cpu().Cmp(*req.Cpu()) > 0, c.Resources},
		{"the Service selects the pod", selects(m.service.Spec.Selector), m.service.Spec.Selector},
		{"the Service's http port targets the container's", len(m.service.Spec.Ports) == 1 && m.service.Spec.Ports[0].TargetPort == intstr.FromString("http") && m.service.Spec.Ports[0].Port == httpPort, m.service.Spec.Ports},
		{"the Service publishes a worker that is not ready (its metrics matter then)", m.service.Spec.PublishNotReadyAddresses, nil},
		{"the PodDisruptionBudget selects the pod", m.pdb.Spec.Selector != nil && selects(m.pdb.Spec.Selector.MatchLabels), m.pdb.Spec.Selector},
		{"the PodDisruptionBudget lets a drain evict a pod", m.pdb.Spec.MaxUnavailable != nil && m.pdb.Spec.MaxUnavailable.IntValue() >= 1 && m.pdb.Spec.MinAvailable == nil, m.pdb.Spec},
		{"the pod uses the ServiceAccount", pod.ServiceAccountName == m.serviceAccount.Name, pod.ServiceAccountName},
	}
}

// TestKubernetesBase renders the base and checks it: what every rendering must hold,
// ONE replica rolled by Recreate (no cluster block: it runs every connector), and a configuration the worker
// accepts, reading its secrets from the mounted Secret.
func TestKubernetesBase(t *testing.T) {
	m := render(t, "deploy/kubernetes/base")
	d := m.deployment
	checks := append(workloadChecks(t, m),
		check{"exactly one replica (no cluster block: it runs every connector)", d.Spec.Replicas != nil && *d.Spec.Replicas == 1, d.Spec.Replicas},
		check{"Recreate: never two instances during a rollout", d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType, d.Spec.Strategy},
		check{"no ServiceMonitor unless the component is added", m.serviceMonitor == nil, m.serviceMonitor},
		check{"five objects: ServiceAccount, ConfigMap, Service, Deployment, PodDisruptionBudget", m.count == 5, m.count},
	)
	runChecks(t, checks)
	t.Run("the worker accepts the ConfigMap's configuration", func(t *testing.T) { validateMounted(t, m) })
}

// validateMounted lays the ConfigMap and the Secret out as the pod sees them (under a
// temp dir) and runs wolkvox-connect validate on the configuration.
func validateMounted(t *testing.T, m manifests) {
	t.Helper()
	c := m.container(t)
	cfgPath, ok := flagValue(c.Args, "--config")
	if !ok {
		t.Fatal("the container's args give no --config")
	}
	cfgMount := m.mount(t, func(v corev1.Volume) bool { return v.ConfigMap != nil && v.ConfigMap.Name == m.configMap.Name })
	secretMount := m.mount(t, func(v corev1.Volume) bool { return v.Secret != nil && v.Secret.SecretName == "wolkvox-connect-secrets" })
	if !cfgMount.ReadOnly || !secretMount.ReadOnly {
		t.Errorf("mounts not read-only: %+v %+v", cfgMount, secretMount)
	}
	key, ok := strings.CutPrefix(cfgPath, cfgMount.MountPath+"/")
	if !ok || m.configMap.Data[key] == "" {
		t.Fatalf("--config %s is not a key of the ConfigMap mounted at %s (keys %v)", cfgPath, cfgMount.MountPath, keys(m.configMap.Data))
	}
	root := t.TempDir()
	config := strings.ReplaceAll(m.configMap.Data[key], secretMount.MountPath, filepath.Join(root, secretMount.MountPath))
	// The Secret's keys, as the README's kubectl create secret names them.
	for file, content := range map[string]string{"wolkvox-token": "a-wolkvox-token", "rest-token": "a-rest-token"} {
		p := filepath.Join(root, secretMount.MountPath, file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if config == m.configMap.Data[key] {
		t.Fatalf("the configuration reads nothing from the Secret mounted at %s", secretMount.MountPath)
	}
	path := filepath.Join(root, cfgPath)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	connect, _ := builtBinaries(t)
	img := parseDockerfile(t, "Dockerfile")
	cmd := exec.Command(connect, "validate", "--config", path)
	env := stageEnv(img.final, nil) // the image's WOLKVOX_REST_ADDRESS
	for _, e := range c.Env {       // and the container's, the pod's fields as a pod has them
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			env[e.Name] = map[string]string{"metadata.name": "wolkvox-connect-7d9f-x2x4q", "status.podIP": "10.1.2.3"}[e.ValueFrom.FieldRef.FieldPath]
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		}
	}
	cmd.Env = envList(env)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wolkvox-connect validate: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "config OK") || strings.Contains(string(out), "warning") {
		t.Errorf("validate: want config OK without warnings:\n%s", out)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestKubernetesClusterOverlay renders the cluster-mode overlay: still every workload
// check (the worker accepts its configuration, given the pod's fields), replicas spread
// and rolled one at a time, a cluster block naming each replica by its pod and address,
// and the ServiceMonitor component, which scrapes the Service's port with the REST token.
func TestKubernetesClusterOverlay(t *testing.T) {
	m := render(t, "deploy/kubernetes/overlays/cluster")
	d := m.deployment
	checks := workloadChecks(t, m)
	checks = append(checks,
		check{"several replicas", d.Spec.Replicas != nil && *d.Spec.Replicas > 1, d.Spec.Replicas},
		check{"rolled one at a time, no surge", d.Spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType && d.Spec.Strategy.RollingUpdate != nil &&
			d.Spec.Strategy.RollingUpdate.MaxSurge.IntValue() == 0 && d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() == 1, d.Spec.Strategy},
		check{"spread over nodes", len(d.Spec.Template.Spec.TopologySpreadConstraints) == 1 && d.Spec.Template.Spec.TopologySpreadConstraints[0].TopologyKey == "kubernetes.io/hostname", d.Spec.Template.Spec.TopologySpreadConstraints},
		check{"the ServiceMonitor is there", m.serviceMonitor != nil, nil},
		check{"a cluster block naming the replica by its pod and address", strings.Contains(m.configMap.Data["config.yaml"], "\ncluster:") &&
			strings.Contains(m.configMap.Data["config.yaml"], "worker_id: ${POD_NAME}") &&
			strings.Contains(m.configMap.Data["config.yaml"], "advertised_url: http://${POD_IP}:8083"), m.configMap.Data["config.yaml"]},
		check{"POD_NAME and POD_IP from the pod", podField(m.container(t).Env, "POD_NAME") == "metadata.name" && podField(m.container(t).Env, "POD_IP") == "status.podIP", m.container(t).Env},
	)
	runChecks(t, checks)
	if m.serviceMonitor == nil {
		return
	}
	sm := m.serviceMonitor
	var ep monitoringv1.Endpoint
	if len(sm.Spec.Endpoints) == 1 {
		ep = sm.Spec.Endpoints[0]
	}
	restToken := ""
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			restToken = v.Secret.SecretName
		}
	}
	runChecks(t, []check{
		{"the ServiceMonitor selects the Service", labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(m.service.Labels)), sm.Spec.Selector},
		{"it scrapes the Service's http port at /metrics", ep.Port == m.service.Spec.Ports[0].Name && ep.Path == "/metrics", ep},
		{"with the REST token from the worker's Secret", ep.Authorization != nil && ep.Authorization.Type == "Bearer" && ep.Authorization.Credentials != nil &&
			ep.Authorization.Credentials.Name == restToken && ep.Authorization.Credentials.Key == "rest-token" &&
			strings.Contains(m.configMap.Data["config.yaml"], "/rest-token"), ep.Authorization},
	})
}

// podField is the field path env var name takes its value from, "" if none.
func podField(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			return e.ValueFrom.FieldRef.FieldPath
		}
	}
	return ""
}
