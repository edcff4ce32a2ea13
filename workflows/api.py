"""Workflows in the public API: list and get, each with its parameter schema."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ApiKeyScopes
from accounts.throttles import RateLimitHeadersMixin
from creator_site.api_errors import ErrorSerializer
from workflows import selectors
from workflows.models import Workflow
from workflows.parameters import parameters_json_schema

TABS = ("all", *selectors.LIST_TABS)


class WorkflowFilterSerializer(serializers.Serializer):
    tab = serializers.ChoiceField(
        choices=TABS,
        required=False,
        default="all",
        help_text="`mine`, `templates`, `public`, or `all` of them (default).",
    )
    category = serializers.ChoiceField(choices=Workflow.Category.choices, required=False)
    search = serializers.CharField(required=False, max_length=100)


class WorkflowSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField(help_text="Use it (or the id) as `workflow` when creating jobs.")
    name = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField()
    visibility = serializers.CharField()
    is_template = serializers.BooleanField()
    mine = serializers.SerializerMethodField()
    estimated_credits = serializers.IntegerField()
    parameters_schema = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_mine(self, workflow: Workflow) -> bool:
        return workflow.owner_id is not None and workflow.owner_id == self.context["user"].pk

    @extend_schema_field(
        {
            "type": "object",
            "additionalProperties": True,
            "description": "JSON Schema (draft 2020-12) of the `parameters` object jobs accept.",
        }
    )
    def get_parameters_schema(self, workflow: Workflow) -> dict:
        return parameters_json_schema(workflow.parameters or [])


class WorkflowCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100


def _errors(*codes: int) -> dict:
    return {code: OpenApiResponse(ErrorSerializer) for code in codes}


WORKFLOW_EXAMPLE = {
    "id": "0b5b7f62-3c1e-4c43-a3a4-1f0e3c9c2d11",
    "slug": "portrait_pro",
    "name": "Portrait Pro",
    "description": "Soft, flattering portrait retouching.",
    "category": "image-to-image",
    "visibility": "public",
    "is_template": True,
    "mine": False,
    "estimated_credits": 1,
    "parameters_schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "softening": {"title": "Skin softening", "type": "number", "minimum": 0, "maximum": 1}
        },
        "additionalProperties": False,
    },
    "created_at": "2026-11-01T00:00:00Z",
    "updated_at": "2026-11-01T00:00:00Z",
}


class WorkflowListView(RateLimitHeadersMixin, GenericAPIView):
    permission_classes = [IsAuthenticated, ApiKeyScopes]
    required_scopes = {"GET": "workflows:read"}
    pagination_class = WorkflowCursorPagination
    serializer_class = WorkflowSerializer

    @extend_schema(
        operation_id="workflows_list",
        summary="List workflows you can run",
        description="Your own workflows, public ones and templates (presets included), "
        "newest first. Scope: `workflows:read`.",
        parameters=[WorkflowFilterSerializer],
        responses={200: WorkflowSerializer(many=True), **_errors(400, 401, 403, 429)},
        tags=["Workflows"],
    )
    def get(self, request):
        filters = WorkflowFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        tabs = selectors.LIST_TABS if f["tab"] == "all" else (f["tab"],)
        querysets = [
            selectors.workflow_list(
                user=request.user, tab=tab, category=f.get("category"), search=f.get("search")
            )
            for tab in tabs
        ]
        workflows = querysets[0]
        for other in querysets[1:]:
            workflows = workflows | other
        page = self.paginate_queryset(workflows.order_by())
        data = WorkflowSerializer(page, many=True, context={"user": request.user}).data
        return self.get_paginated_response(data)


class WorkflowDetailView(RateLimitHeadersMixin, APIView):
    permission_classes = [IsAuthenticated, ApiKeyScopes]
    required_scopes = {"GET": "workflows:read"}

    @extend_schema(
        operation_id="workflows_retrieve",
        summary="Get a workflow",
        description="By id or slug (your own slug wins over a preset's). Scope: `workflows:read`.",
        responses={200: WorkflowSerializer, **_errors(401, 403, 404, 429)},
        examples=[OpenApiExample("A preset", value=WORKFLOW_EXAMPLE)],
        tags=["Workflows"],
    )
    def get(self, request, id_or_slug: str):
        workflow = selectors.workflow_get_for_user(user=request.user, id_or_slug=id_or_slug)
        return Response(WorkflowSerializer(workflow, context={"user": request.user}).data)
