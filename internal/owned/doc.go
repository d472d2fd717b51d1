// Package owned writes the Secrets and ConfigMaps that scopegate owns: the
// credentials and token Secrets of an OAuthClient, the scopegate-ca trust
// bundles, the serving-certificate Secrets and the signing-keys Secret.
//
// Every such write goes through WriteSecret or WriteConfigMap, one
// create-or-update with these rules:
//
//   - The caller reads the object (cached or not, as it needs) and passes it
//     in, nil when absent; the writer does not read. It starts from a copy of
//     what is there and sets only what the caller owns (data keys, labels,
//     annotations, then an optional Mutate for what depends on the current
//     object), so keys, labels and annotations that someone else added stay.
//   - Every written object carries app.kubernetes.io/managed-by: scopegate,
//     which puts it in the manager's label-filtered cache.
//   - Owner references are set with controllerutil only.
//   - Nothing is written when the result equals what is there (type, data,
//     labels, annotations, owner references): a converged object costs no
//     write.
//   - An update carries the resourceVersion of the object passed in, so a
//     concurrent writer makes it fail with a conflict; a create of an object
//     that exists fails with AlreadyExists. Both errors are returned
//     (wrapped) for the caller to handle as it always did.
//
// Server-side apply was the alternative. It was not chosen because the
// callers rely on resourceVersion conflicts (the signing keys, the CA set)
// and on knowing whether anything was written (events, metrics), which an
// apply does not tell without the same comparison; and because field
// ownership would have to be migrated on every Secret written so far.
package owned
