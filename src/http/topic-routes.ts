/** REST: create, delete and list topics, and who subscribes to one. Business logic lives in the engine (through PubSub); these only translate. */
import { Type } from '@sinclair/typebox'
import { Elysia, t } from 'elysia'
import type { PubSub } from '../pubsub'
import type { Logger } from '../log'
import { TopicName } from '../protocol/frames'
import { ErrorBody } from './rest-errors'

export const CreateTopicBody = t.Object({ name: TopicName })
const TopicChange = (status: 'created' | 'deleted') => t.Object({ status: t.Literal(status), topic: t.String() })
// Plain TypeBox integers in responses: Elysia's t.Integer also accepts numeric strings, which is right for input, not for documenting output.
export const TopicList = t.Object({ topics: t.Array(t.Object({ name: t.String(), subscribers: Type.Integer({ minimum: 0 }) })) })

export const SubscriberList = t.Object({
  topic: t.String(),
  subscribers: t.Array(
    t.Object({
      client_id: t.String(),
      connections: Type.Integer({ minimum: 1, description: 'Active subscriptions of this client_id to the topic, over the cluster.' }),
    }),
    { description: 'Sorted by client_id; at most PRESENCE_LIST_MAX entries (the first ones): fewer than total means the list was cut.' },
  ),
  total: Type.Integer({ minimum: 0, description: 'Every client_id with an active subscription to the topic, however many are listed.' }),
})

export function topicRoutes(pubsub: PubSub, log?: Logger) {
  return new Elysia({ name: 'topic-routes' })
    .post(
      '/topics',
      async ({ body, status }) => {
        await pubsub.createTopic(body.name)
        log?.info('topic_created', { topic: body.name })
        return status(201, { status: 'created' as const, topic: body.name })
      },
      {
        body: CreateTopicBody,
        response: { 201: TopicChange('created'), 400: ErrorBody, 401: ErrorBody, 409: ErrorBody, 413: ErrorBody, 429: ErrorBody, 503: ErrorBody },
        detail: { summary: 'Create a topic', tags: ['topics'] },
      },
    )
    .delete(
      '/topics/:name',
      async ({ params }) => {
        await pubsub.deleteTopic(params.name)
        log?.info('topic_deleted', { topic: params.name })
        return { status: 'deleted' as const, topic: params.name }
      },
      {
        params: t.Object({ name: TopicName }),
        response: { 200: TopicChange('deleted'), 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 503: ErrorBody },
        detail: { summary: 'Delete a topic; its subscribers get info topic_deleted', tags: ['topics'] },
      },
    )
    .get('/topics/:name/subscribers', async ({ params }) => pubsub.subscribers(params.name), {
      params: t.Object({ name: TopicName }),
      response: { 200: SubscriberList, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      detail: {
        summary: "A topic's client_ids with their subscription counts, over the cluster (ENGINE=redis: other instances' at most one report interval stale)",
        tags: ['topics'],
      },
    })
    .get('/topics', async () => ({ topics: await pubsub.listTopics() }), {
      response: { 200: TopicList, 401: ErrorBody, 503: ErrorBody },
      detail: { summary: 'List topics with their subscriber counts', tags: ['topics'] },
    })
}
