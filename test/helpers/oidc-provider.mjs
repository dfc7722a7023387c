// A real OpenID provider for tests, in its own process (the mock server's checks do not work
// inside jest's module sandbox). Prints its issuer URL on stdout and serves until killed. Everyone
// who signs in is Ada, a member of the MLflow admin group.
import { OAuth2Server } from 'oauth2-mock-server'

const person = {
  sub: 'ada',
  email: 'ada@example.com',
  preferred_username: 'ada@example.com',
  name: 'Ada',
  groups: ['mlflow', 'mlflow-admin']
}
const server = new OAuth2Server()
await server.issuer.keys.generate('RS256')
server.service.on('beforeTokenSigning', (token) => Object.assign(token.payload, person))
server.service.on('beforeUserinfo', (response) => Object.assign(response.body, person))
await server.start(0, '127.0.0.1')
console.log(server.issuer.url)
process.on('SIGTERM', () => server.stop().then(() => process.exit(0)))
