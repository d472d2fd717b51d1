# Build: a static binary, no cgo.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/scopegate .

# Run: distroless, non-root, nothing but the binary and CA certificates.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scopegate /scopegate
USER 65532:65532
EXPOSE 8080 8000 9090 8081
ENTRYPOINT ["/scopegate"]
