# Build: docker build -t outreach .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/outreach ./cmd/outreach

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/outreach /outreach
EXPOSE 8080
USER nonroot
ENTRYPOINT ["/outreach"]
CMD ["serve"]
HEALTHCHECK --interval=10s --timeout=5s --retries=3 CMD ["/outreach", "healthcheck"]
