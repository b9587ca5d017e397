"""AniList's GraphQL documents: what the client asks, field by field.

Kept apart from the client so that a change to what is asked reads as one diff, and so that the
simulator and its schema test can check every document against the published schema.
"""

from typing import Final

VIEWER_QUERY: Final = """
query Viewer {
  Viewer {
    id
    name
    mediaListOptions {
      scoreFormat
    }
  }
}
"""

COLLECTION_QUERY: Final = """
query Collection($userId: Int!, $format: ScoreFormat, $chunk: Int, $perChunk: Int) {
  MediaListCollection(userId: $userId, type: ANIME, chunk: $chunk, perChunk: $perChunk) {
    hasNextChunk
    lists {
      entries {
        id
        mediaId
        status
        score(format: $format)
        progress
        repeat
        createdAt
        updatedAt
        startedAt {
          year
          month
          day
        }
        completedAt {
          year
          month
          day
        }
        media {
          id
          idMal
          title {
            romaji
            english
          }
          startDate {
            year
          }
          format
          episodes
        }
      }
    }
  }
}
"""

# The Viewer rides along so every batch of writes sees the score format of that moment.
LOOKUP_QUERY: Final = """
query Lookup($ids: [Int], $perPage: Int) {
  Viewer {
    id
    name
    mediaListOptions {
      scoreFormat
    }
  }
  Page(perPage: $perPage) {
    media(id_in: $ids, type: ANIME) {
      id
      format
      episodes
      mediaListEntry {
        id
        status
        progress
        repeat
        score(format: POINT_100)
        completedAt {
          year
          month
          day
        }
      }
    }
  }
}
"""

# Variables left out are arguments left out: only what a write means to change is sent.
SAVE_MUTATION: Final = """
mutation Save(
  $mediaId: Int
  $status: MediaListStatus
  $score: Float
  $scoreRaw: Int
  $progress: Int
  $repeat: Int
  $completedAt: FuzzyDateInput
  $format: ScoreFormat
) {
  SaveMediaListEntry(
    mediaId: $mediaId
    status: $status
    score: $score
    scoreRaw: $scoreRaw
    progress: $progress
    repeat: $repeat
    completedAt: $completedAt
  ) {
    id
    mediaId
    status
    score(format: $format)
    progress
    repeat
  }
}
"""

DELETE_MUTATION: Final = """
mutation Delete($id: Int) {
  DeleteMediaListEntry(id: $id) {
    deleted
  }
}
"""

# The statistics' count of each anime list status, as a root field of a query.
_STATUS_COUNTS: Final = """
  User(id: $userId) {
    statistics {
      anime {
        statuses {
          status
          count
        }
      }
    }
  }
"""

STATISTICS_QUERY: Final = f"""
query Statistics($userId: Int!) {{{_STATUS_COUNTS}}}
"""

# The entry edited last, and the statistics' count of each status: one request that tells whether
# the list may have changed since a read (see providers/anilist_kept.py).
LATEST_CHANGE_QUERY: Final = f"""
query LatestChange($userId: Int!) {{
  Page(perPage: 1) {{
    mediaList(userId: $userId, type: ANIME, sort: [UPDATED_TIME_DESC, MEDIA_ID_DESC]) {{
      id
      updatedAt
    }}
  }}{_STATUS_COUNTS}}}
"""

# Anime whose titles match, best match first and then the most popular (AniList's own order).
SEARCH_QUERY: Final = """
query Search($search: String, $perPage: Int) {
  Page(perPage: $perPage) {
    media(search: $search, type: ANIME, sort: [SEARCH_MATCH, POPULARITY_DESC]) {
      id
      idMal
      title {
        romaji
        english
      }
      startDate {
        year
      }
      format
    }
  }
}
"""

# The list first, then the page's info: AniList fills both; keep the order for readers.
FOLLOWED_QUERY: Final = """
query Followed($userId: Int!, $page: Int, $perPage: Int) {
  Page(page: $page, perPage: $perPage) {
    mediaList(userId: $userId, type: ANIME, status_in: [CURRENT, PLANNING], sort: [MEDIA_ID]) {
      mediaId
    }
    pageInfo {
      hasNextPage
    }
  }
}
"""

AIRING_QUERY: Final = """
query Airing($ids: [Int], $after: Int, $before: Int, $page: Int, $perPage: Int) {
  Page(page: $page, perPage: $perPage) {
    airingSchedules(
      mediaId_in: $ids
      airingAt_greater: $after
      airingAt_lesser: $before
      sort: [TIME]
    ) {
      id
      airingAt
      episode
      media {
        id
        title {
          userPreferred
        }
        duration
        siteUrl
      }
    }
    pageInfo {
      hasNextPage
    }
  }
}
"""

DOCUMENTS: Final = (
    VIEWER_QUERY, COLLECTION_QUERY, LOOKUP_QUERY, SAVE_MUTATION, DELETE_MUTATION, STATISTICS_QUERY,
    LATEST_CHANGE_QUERY, SEARCH_QUERY, FOLLOWED_QUERY, AIRING_QUERY,
)  # fmt: skip
