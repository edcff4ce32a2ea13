"""Django's Redis cache backend, reusing its client objects.

Django's RedisCacheClient builds a new `redis.Redis` for every cache call
(cheap connections come from a pool, but the object itself is not: ~0.3 ms
of CPU here, several times per API request for the rate limits). A client
is thread-safe and only wraps the pool, so one per pool is enough.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client


class ReusingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
