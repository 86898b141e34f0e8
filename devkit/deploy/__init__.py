"""Helpers behind `devkit deploy`: build the API image, run the Swarm stack, print the commands
that create secrets. They only save typing: deploy/ stays usable with plain `docker build`,
`docker stack deploy -c deploy/stack.yml aios` and `kubectl apply -k deploy/k8s`."""
