/**
 * The status monitor and result URLs of long-running operations:
 * `/subscriptions/{sub}/providers/{ns}/locations/{loc}/{segment}/{operationId}`. Which segment is
 * which was fixed when the operation started (`containerappOperationStatuses` vs
 * `containerappOperationResults`, …).
 */
import type { EmulatorContext } from '../context.js'
import { ArmError } from '../errors.js'
import { param, type ArmResponse, type Router } from '../router.js'

export function registerOperations(ctx: EmulatorContext, router: Router): void {
  router.add(
    'GET',
    '/subscriptions/{subscriptionId}/providers/{namespace}/locations/{location}/{segment}/{operationId}',
    (req): ArmResponse => {
      const op = ctx.lro.get(param(req, 'operationId'))
      const segment = param(req, 'segment').toLowerCase()
      if (!op) throw new ArmError(404, 'NotFound', `Operation '${param(req, 'operationId')}' was not found.`)
      if (segment === op.resultSegment.toLowerCase()) return ctx.lro.resultAnswer(op)
      if (segment === op.statusSegment.toLowerCase()) return ctx.lro.statusAnswer(req.origin, op)
      throw new ArmError(404, 'NotFound', `Operation '${op.id}' has no '${param(req, 'segment')}' endpoint.`)
    }
  )
}
