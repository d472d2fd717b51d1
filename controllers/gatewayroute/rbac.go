package gatewayroute

// Least privilege for both controllers: the table feeder only reads
// (GatewayRoutes, Services, EndpointSlices, and the Secrets LLM routes take
// provider keys from, each watched by name: keywatch.go); the status writer also reads
// OAuthClients, patches GatewayRoute status and records events (the
// events.k8s.io API, with core events for older recorders).
//
// +kubebuilder:rbac:groups=scopegate.dev,resources=gatewayroutes,verbs=get;list;watch
// +kubebuilder:rbac:groups=scopegate.dev,resources=gatewayroutes/status,verbs=get;patch
// +kubebuilder:rbac:groups=scopegate.dev,resources=oauthclients,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
