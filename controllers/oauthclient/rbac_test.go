package oauthclient

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scopegate/scopegate/internal/testenv"
)

var _ = Describe("The generated role", func() {
	It("grants the manager what the OAuthClient controllers use on OAuthClients and nothing more", func() {
		// Every other spec runs the managers with this role, which shows
		// that it suffices; this one shows that it grants no more.
		asManager, err := client.New(cfg, client.Options{Scheme: testenv.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		cases := []struct {
			verb, subresource string
			allowed           bool
		}{
			{"get", "", true}, {"list", "", true}, {"watch", "", true},
			{"create", "", false}, {"update", "", false}, {"patch", "", false}, {"delete", "", false},
			{"patch", "status", true}, {"update", "status", false},
			{"update", "finalizers", true},
		}
		for _, c := range cases {
			review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Group: "scopegate.dev", Resource: "oauthclients", Subresource: c.subresource, Verb: c.verb, Namespace: "team-a",
				},
			}}
			Expect(asManager.Create(ctx, review)).To(Succeed())
			Expect(review.Status.Allowed).To(Equal(c.allowed), "%s oauthclients/%s", c.verb, c.subresource)
		}
	})
})
