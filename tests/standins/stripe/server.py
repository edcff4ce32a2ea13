"""A Stripe API stand-in: a real HTTP server on loopback that answers the
calls Creator and dj-stripe make, with Stripe's JSON shapes (object names, id
prefixes, `livemode`, `created`, list envelopes, error bodies), and plays
Stripe's side of the flows (a customer paying a Checkout Session, a renewal,
a failed payment, a refund) by changing its objects and emitting events.

The stripe library is pointed at it with `stripe.api_base = server.url`.
Events are retrievable (`GET /v1/events/<id>`) and can be signed exactly as
Stripe signs webhooks (`sign_payload`).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

API_VERSION = "2026-05-27.dahlia"

PREFIXES = {
    "customers": ("cus", "customer"),
    "checkout/sessions": ("cs_test", "checkout.session"),
    "billing_portal/sessions": ("bps", "billing_portal.session"),
    "subscriptions": ("sub", "subscription"),
    "subscription_items": ("si", "subscription_item"),
    "invoices": ("in", "invoice"),
    "invoiceitems": ("ii", "invoiceitem"),
    "prices": ("price", "price"),
    "products": ("prod", "product"),
    "charges": ("ch", "charge"),
    "payment_intents": ("pi", "payment_intent"),
    "refunds": ("re", "refund"),
    "events": ("evt", "event"),
    "balance_transactions": ("txn", "balance_transaction"),
    "payment_methods": ("pm", "payment_method"),
}


def sign_payload(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe would send for `payload`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.{payload}".encode()
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def decode_form(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's bracket notation (`a[b][0][c]=v`) back into nested dicts/lists."""
    root: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+|\[\]", key)
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt = None if last else parts[i + 1]
            container: Any = [] if nxt is not None and (nxt.isdigit() or nxt == "[]") else {}
            if isinstance(node, list):
                if part == "[]":
                    if last:
                        node.append(value)
                        break
                    node.append(container)
                    node = node[-1]
                    continue
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                if last:
                    node[index] = value
                else:
                    if node[index] is None:
                        node[index] = container
                    node = node[index]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, container)
    return root


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str = "",
        param: str = "",
        type_="invalid_request_error",
    ):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, "code": code, "param": param}}


class StripeStandIn:
    """`StripeStandIn().start()`; `.url`; `.stop()`. Thread-safe store."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str = "sk_test_" + "standin0" * 4,
        webhook_url: str = "",
        webhook_secret: str = "",
    ):
        self.host, self.port, self.api_key = host, port, api_key
        # Where the hosted pages (Checkout, Portal) deliver their events, as
        # Stripe would; tests usually deliver events themselves instead.
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.lock = threading.RLock()
        self.objects: dict[str, dict] = {}
        self.idempotent: dict[str, tuple[int, dict]] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self._counter = itertools.count(1)
        self.account = {
            "id": "acct_standin",
            "object": "account",
            "type": "standard",
            "country": "US",
            "default_currency": "usd",
            "email": "owner@creator.test",
            "charges_enabled": True,
            "payouts_enabled": True,
            "details_submitted": True,
            "business_profile": {"name": "Creator (stand-in)"},
            "settings": {"dashboard": {"display_name": "Creator"}},
            "metadata": {},
            "created": int(time.time()),
        }
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> StripeStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                standin._serve(self)

            do_GET = do_POST = do_DELETE = _handle

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- store -----------------------------------------------------------------

    def new_id(self, collection: str) -> str:
        prefix = PREFIXES[collection][0]
        return f"{prefix}_{secrets.token_hex(7)}{next(self._counter)}"

    def put(self, collection: str, fields: dict) -> dict:
        with self.lock:
            obj = {
                "id": fields.pop("id", None) or self.new_id(collection),
                "object": PREFIXES[collection][1],
                "livemode": False,
                "created": int(time.time()),
                "metadata": {},
                **fields,
            }
            self.objects[obj["id"]] = obj
            return obj

    def get(self, object_id: str) -> dict:
        with self.lock:
            return copy.deepcopy(self.objects[object_id])

    def of_type(self, object_name: str, **filters) -> list[dict]:
        with self.lock:
            return [
                copy.deepcopy(o)
                for o in self.objects.values()
                if o["object"] == object_name and all(o.get(k) == v for k, v in filters.items())
            ]

    def listing(self, url: str, items: list[dict]) -> dict:
        items = sorted(items, key=lambda o: o.get("created", 0), reverse=True)
        return {"object": "list", "data": items, "has_more": False, "url": url}

    # --- catalogue (what an operator sets up in the dashboard) ------------------

    def create_price(self, *, name: str, unit_amount: int, recurring: bool = True) -> dict:
        product = self.put(
            "products",
            {
                "name": name,
                "active": True,
                "description": None,
                "images": [],
                "type": "service",
                "default_price": None,
                "updated": int(time.time()),
                "url": None,
                "tax_code": None,
                "unit_label": None,
                "statement_descriptor": None,
                "shippable": None,
                "package_dimensions": None,
                "marketing_features": [],
            },
        )
        price = self.put(
            "prices",
            {
                "active": True,
                "currency": "usd",
                "unit_amount": unit_amount,
                "unit_amount_decimal": str(unit_amount),
                "product": product["id"],
                "nickname": None,
                "lookup_key": None,
                "billing_scheme": "per_unit",
                "tax_behavior": "unspecified",
                "tiers_mode": None,
                "transform_quantity": None,
                "custom_unit_amount": None,
                "type": "recurring" if recurring else "one_time",
                "recurring": (
                    {
                        "interval": "month",
                        "interval_count": 1,
                        "usage_type": "licensed",
                        "aggregate_usage": None,
                        "meter": None,
                        "trial_period_days": None,
                    }
                    if recurring
                    else None
                ),
            },
        )
        with self.lock:
            self.objects[product["id"]]["default_price"] = price["id"]
        return self.get(price["id"])

    # --- events ----------------------------------------------------------------

    def emit(self, event_type: str, obj: dict, previous_attributes: dict | None = None) -> dict:
        data: dict = {"object": copy.deepcopy(obj)}
        if previous_attributes is not None:
            data["previous_attributes"] = previous_attributes
        return self.put(
            "events",
            {
                "type": event_type,
                "api_version": API_VERSION,
                "data": data,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "account": None,
            },
        )

    # --- HTTP ------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        if handler.command == "GET" and parts.path.startswith(("/c/pay/", "/p/session/")):
            return self._hosted_page(handler, parts.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        params = decode_form(
            parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(raw, keep_blank_values=True)
        )
        with self.lock:
            self.requests.append((handler.command, parts.path, params))
        auth = handler.headers.get("Authorization", "")
        key = handler.headers.get("Idempotency-Key")
        try:
            if auth != f"Bearer {self.api_key}":
                raise StripeError(
                    401,
                    "Invalid API Key provided.",
                    type_="invalid_request_error",
                    code="api_key_invalid",
                )
            idem_key = (
                f"{handler.command} {parts.path} {key}"
                if key and handler.command == "POST"
                else None
            )
            if idem_key and idem_key in self.idempotent:
                status, body = self.idempotent[idem_key]
            else:
                status, body = 200, self._route(handler.command, parts.path, params)
                if idem_key:
                    self.idempotent[idem_key] = (status, body)
        except StripeError as error:
            status, body = error.status, error.body
        except KeyError as error:
            status, body = (
                404,
                StripeError(
                    404, f"No such object: {error.args[0]!r}", code="resource_missing", param="id"
                ).body,
            )
        payload = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
        handler.send_header("Stripe-Version", API_VERSION)
        handler.end_headers()
        handler.wfile.write(payload)

    def _route(self, method: str, path: str, params: dict) -> dict:
        path = path.rstrip("/")
        if not path.startswith("/v1/"):
            raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")
        segments = path[len("/v1/") :].split("/")
        if segments == ["account"]:
            return copy.deepcopy(self.account)
        collection = segments[0]
        if collection in ("checkout", "billing_portal"):
            collection = "/".join(segments[:2])
            segments = [collection, *segments[2:]]
        handler = getattr(self, f"_{method.lower()}_{collection.replace('/', '_')}", None)
        if handler is not None:
            return handler(segments[1:], params)
        if collection not in PREFIXES:
            raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")
        object_name = PREFIXES[collection][1]
        if method == "GET" and len(segments) == 1:
            filters = {
                k: v
                for k, v in params.items()
                if k in ("customer", "subscription", "charge", "invoice", "payment_intent")
            }
            if params.get("status") not in (None, "all"):
                filters["status"] = params["status"]
            return self.listing(path, self.of_type(object_name, **filters))
        if method == "GET" and len(segments) == 2:
            obj = self.get(segments[1])
            if obj["object"] != object_name:
                raise KeyError(segments[1])
            return self._expand(obj, params)
        if method == "GET" and len(segments) == 3:
            # nested lists we do not model (sources, tax_ids, …) are empty
            parent = self.get(segments[1])
            if segments[2] == "lines" and parent["object"] == "invoice":
                return parent["lines"]
            return self.listing(path, [])
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    def _expand(self, obj: dict, params: dict) -> dict:
        for field in params.get("expand", []) or []:
            value = obj.get(field)
            if isinstance(value, str) and value in self.objects:
                obj[field] = self.get(value)
        return obj

    # customers

    def _post_customers(self, rest: list[str], params: dict) -> dict:
        if rest:
            with self.lock:
                customer = self.objects[rest[0]]
                customer.update(
                    {k: v for k, v in params.items() if k in ("email", "name", "description")}
                )
                if "metadata" in params:
                    customer["metadata"] = {**customer["metadata"], **params["metadata"]}
                return self.get(rest[0])
        return self.put(
            "customers",
            {
                "email": params.get("email"),
                "name": params.get("name"),
                "description": params.get("description"),
                "metadata": params.get("metadata", {}),
                "balance": 0,
                "currency": None,
                "default_source": None,
                "delinquent": False,
                "discount": None,
                "invoice_prefix": secrets.token_hex(4).upper(),
                "invoice_settings": {
                    "custom_fields": None,
                    "default_payment_method": None,
                    "footer": None,
                    "rendering_options": None,
                },
                "next_invoice_sequence": 1,
                "preferred_locales": [],
                "shipping": None,
                "address": None,
                "phone": None,
                "tax_exempt": "none",
                "test_clock": None,
            },
        )

    # checkout

    def _post_checkout_sessions(self, rest: list[str], params: dict) -> dict:
        if rest:
            raise StripeError(404, "Unrecognized request URL.")
        mode = params.get("mode")
        if mode not in ("payment", "subscription", "setup"):
            raise StripeError(
                400, "Invalid mode: must be one of payment, setup, or subscription", param="mode"
            )
        for key in ("success_url",):
            if not params.get(key):
                raise StripeError(
                    400, f"Missing required param: {key}.", code="parameter_missing", param=key
                )
        line_items = params.get("line_items") or []
        if not line_items:
            raise StripeError(
                400,
                "Missing required param: line_items.",
                code="parameter_missing",
                param="line_items",
            )
        total = 0
        lines = []
        for i, item in enumerate(line_items):
            price_id = item.get("price", "")
            price = self.objects.get(price_id)
            if price is None or price["object"] != "price":
                raise StripeError(
                    400,
                    f"No such price: '{price_id}'",
                    code="resource_missing",
                    param=f"line_items[{i}][price]",
                )
            if mode == "subscription" and price["type"] != "recurring":
                raise StripeError(
                    400, "You must provide at least one recurring price in `subscription` mode."
                )
            quantity = int(item.get("quantity", 1))
            total += price["unit_amount"] * quantity
            lines.append(
                {
                    "id": f"li_{secrets.token_hex(8)}",
                    "object": "item",
                    "amount_total": price["unit_amount"] * quantity,
                    "amount_subtotal": price["unit_amount"] * quantity,
                    "currency": "usd",
                    "description": self.objects[price["product"]]["name"],
                    "price": copy.deepcopy(price),
                    "quantity": quantity,
                }
            )
        customer = params.get("customer")
        if customer and customer not in self.objects:
            raise StripeError(
                400, f"No such customer: '{customer}'", code="resource_missing", param="customer"
            )
        session = self.put(
            "checkout/sessions",
            {
                "mode": mode,
                "status": "open",
                "payment_status": "unpaid",
                "customer": customer,
                "customer_email": params.get("customer_email"),
                "client_reference_id": params.get("client_reference_id"),
                "metadata": params.get("metadata", {}),
                "success_url": params["success_url"],
                "cancel_url": params.get("cancel_url"),
                "amount_total": total,
                "amount_subtotal": total,
                "currency": "usd",
                "subscription": None,
                "payment_intent": None,
                "setup_intent": None,
                "invoice": None,
                "expires_at": int(time.time()) + 24 * 3600,
                "locale": None,
                "payment_method_types": ["card"],
                "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
                "_lines": lines,
                "_subscription_data": params.get("subscription_data", {}),
                "_payment_intent_data": params.get("payment_intent_data", {}),
            },
        )
        with self.lock:
            self.objects[session["id"]]["url"] = f"{self.url}/c/pay/{session['id']}"
        return self._public(self.get(session["id"]))

    def _get_checkout_sessions(self, rest: list[str], params: dict) -> dict:
        if not rest:
            return self.listing(
                "/v1/checkout/sessions", [self._public(s) for s in self.of_type("checkout.session")]
            )
        session = self.get(rest[0])
        if session["object"] != "checkout.session":
            raise KeyError(rest[0])
        if rest[1:] == ["line_items"]:
            return self.listing(f"/v1/checkout/sessions/{rest[0]}/line_items", session["_lines"])
        return self._expand(self._public(session), params)

    @staticmethod
    def _public(obj: dict) -> dict:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _post_billing_portal_sessions(self, rest: list[str], params: dict) -> dict:
        customer = params.get("customer", "")
        if customer not in self.objects:
            raise StripeError(
                400, f"No such customer: '{customer}'", code="resource_missing", param="customer"
            )
        session = self.put(
            "billing_portal/sessions",
            {
                "customer": customer,
                "return_url": params.get("return_url"),
                "configuration": "bpc_standin",
                "flow": None,
                "locale": None,
                "on_behalf_of": None,
            },
        )
        with self.lock:
            self.objects[session["id"]]["url"] = f"{self.url}/p/session/{session['id']}"
        return self.get(session["id"])

    # subscriptions

    def _post_subscriptions(self, rest: list[str], params: dict) -> dict:
        if not rest:
            raise StripeError(400, "Create subscriptions through Checkout in this stand-in.")
        if "cancel_at_period_end" in params:
            return self.subscription_update(
                rest[0], cancel_at_period_end=params["cancel_at_period_end"] == "true"
            )[0]
        return self.get(rest[0])

    def _delete_subscriptions(self, rest: list[str], params: dict) -> dict:
        return self.subscription_cancel(rest[0])[0]

    # invoice items

    def _post_invoiceitems(self, rest: list[str], params: dict) -> dict:
        customer = params.get("customer", "")
        if customer not in self.objects:
            raise StripeError(
                400, f"No such customer: '{customer}'", code="resource_missing", param="customer"
            )
        try:
            amount = int(params["amount"])
        except (KeyError, ValueError):
            raise StripeError(
                400, "Missing required param: amount.", code="parameter_missing", param="amount"
            ) from None
        invoice_id = params.get("invoice")
        if invoice_id:
            invoice = self.objects.get(invoice_id)
            if invoice is None:
                raise StripeError(
                    400,
                    f"No such invoice: '{invoice_id}'",
                    code="resource_missing",
                    param="invoice",
                )
            if invoice["status"] != "draft":
                raise StripeError(
                    400, "You can only add invoice items to draft invoices.", param="invoice"
                )
        item = self.put(
            "invoiceitems",
            {
                "customer": customer,
                "amount": amount,
                "currency": params.get("currency", "usd"),
                "description": params.get("description"),
                "invoice": invoice_id,
                "subscription": params.get("subscription"),
                "metadata": params.get("metadata", {}),
                "quantity": 1,
                "discountable": True,
                "discounts": [],
                "period": {"start": int(time.time()), "end": int(time.time())},
                "pricing": None,
                "proration": False,
                "date": int(time.time()),
                "test_clock": None,
            },
        )
        if invoice_id:
            self._invoice_add_line(invoice_id, item)
        return item

    # --- hosted pages -------------------------------------------------------------

    def _hosted_page(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        """The customer's side: opening a Checkout URL pays it at once (card
        4242…), sends the events to `webhook_url`, and redirects to the
        success URL; a Portal URL shows a page linking back."""
        object_id = path.rstrip("/").rsplit("/", 1)[-1]
        obj = self.objects.get(object_id)
        if obj is None:
            handler.send_response(404)
            handler.end_headers()
            return
        if obj["object"] == "checkout.session":
            if obj["status"] == "open":
                for event in self.checkout_complete(object_id):
                    self.deliver(event)
            location = obj["success_url"].replace("{CHECKOUT_SESSION_ID}", object_id)
            handler.send_response(303)
            handler.send_header("Location", location)
            handler.end_headers()
            return
        body = (
            "<!doctype html><title>Customer portal (stand-in)</title>"
            f"<p>Stripe customer portal for {obj['customer']}.</p>"
            f'<p><a href="{obj["return_url"]}">Return</a></p>'
        ).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def deliver(self, event: dict) -> int:
        """POST a signed event to `webhook_url`, like Stripe; returns the status."""
        if not self.webhook_url:
            return 0
        payload = json.dumps(event)
        request = urllib.request.Request(  # noqa: S310 - a loopback URL set by the test
            self.webhook_url,
            data=payload.encode(),
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": sign_payload(payload, self.webhook_secret),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    # --- Stripe's side of the flows (test helpers) -----------------------------

    def _invoice_add_line(self, invoice_id: str, item: dict) -> None:
        with self.lock:
            invoice = self.objects[invoice_id]
            invoice["lines"]["data"].append(
                {
                    "id": f"il_{secrets.token_hex(8)}",
                    "object": "line_item",
                    "amount": item["amount"],
                    "currency": item["currency"],
                    "description": item["description"],
                    "invoice": invoice_id,
                    "livemode": False,
                    "metadata": item["metadata"],
                    "period": item["period"],
                    "quantity": 1,
                    "parent": {
                        "type": "invoice_item_details",
                        "invoice_item_details": {"invoice_item": item["id"]},
                    },
                }
            )
            invoice["lines"]["total_count"] = len(invoice["lines"]["data"])
            for field in ("amount_due", "amount_remaining", "subtotal", "total"):
                invoice[field] += item["amount"]

    def _new_invoice(
        self,
        *,
        customer: str,
        subscription: str | None,
        billing_reason: str,
        lines: list[dict],
        status: str,
    ) -> dict:
        total = sum(line["amount"] for line in lines)
        invoice = self.put(
            "invoices",
            {
                "customer": customer,
                "status": status,
                "billing_reason": billing_reason,
                "collection_method": "charge_automatically",
                "currency": "usd",
                "amount_due": total,
                "amount_paid": total if status == "paid" else 0,
                "amount_remaining": 0 if status == "paid" else total,
                "subtotal": total,
                "total": total,
                "attempt_count": 1 if status != "draft" else 0,
                "attempted": status != "draft",
                "auto_advance": True,
                "number": f"STANDIN-{next(self._counter):04d}",
                "hosted_invoice_url": f"{self.url}/i/{secrets.token_hex(6)}",
                "invoice_pdf": f"{self.url}/i/{secrets.token_hex(6)}/pdf",
                "period_start": int(time.time()),
                "period_end": int(time.time()),
                "parent": (
                    {
                        "type": "subscription_details",
                        "subscription_details": {"subscription": subscription, "metadata": {}},
                    }
                    if subscription
                    else None
                ),
                "default_payment_method": None,
                "discounts": [],
                "status_transitions": {"paid_at": int(time.time()) if status == "paid" else None},
                "lines": {
                    "object": "list",
                    "data": [],
                    "has_more": False,
                    "total_count": 0,
                    "url": "",
                },
            },
        )
        with self.lock:
            self.objects[invoice["id"]]["lines"]["url"] = f"/v1/invoices/{invoice['id']}/lines"
            self.objects[invoice["id"]]["lines"]["data"] = lines
            self.objects[invoice["id"]]["lines"]["total_count"] = len(lines)
        return self.get(invoice["id"])

    def _pay(
        self, *, customer: str, amount: int, metadata: dict, invoice: str | None = None
    ) -> tuple[dict, dict]:
        intent = self.put(
            "payment_intents",
            {
                "amount": amount,
                "amount_received": amount,
                "currency": "usd",
                "customer": customer,
                "status": "succeeded",
                "metadata": metadata,
                "payment_method": None,
                "payment_method_types": ["card"],
                "capture_method": "automatic",
                "confirmation_method": "automatic",
                "latest_charge": None,
                "on_behalf_of": None,
                "description": None,
            },
        )
        charge = self.put(
            "charges",
            {
                "amount": amount,
                "amount_captured": amount,
                "amount_refunded": 0,
                "captured": True,
                "paid": True,
                "refunded": False,
                "status": "succeeded",
                "currency": "usd",
                "customer": customer,
                "payment_intent": intent["id"],
                "invoice": invoice,
                "metadata": metadata,
                "balance_transaction": None,
                "payment_method": None,
                "payment_method_details": {
                    "type": "card",
                    "card": {"brand": "visa", "last4": "4242"},
                },
                "billing_details": {"address": None, "email": None, "name": None, "phone": None},
                "outcome": {"type": "authorized", "network_status": "approved_by_network"},
                "refunds": {"object": "list", "data": [], "has_more": False, "url": ""},
                "description": None,
                "failure_code": None,
                "failure_message": None,
                "disputed": False,
                "fraud_details": {},
                "receipt_url": None,
                "statement_descriptor": None,
                "transfer_group": None,
            },
        )
        with self.lock:
            self.objects[intent["id"]]["latest_charge"] = charge["id"]
        return self.get(intent["id"]), self.get(charge["id"])

    def checkout_complete(self, session_id: str) -> list[dict]:
        """The customer pays a Checkout Session. Returns the events Stripe
        would send, in Stripe's (not guaranteed) order."""
        session = self.get(session_id)
        if session["status"] != "open":
            raise ValueError("session is not open")
        customer = session["customer"]
        if not customer:
            customer = self._post_customers([], {"email": session.get("customer_email")})["id"]
        events = []
        if session["mode"] == "subscription":
            price = session["_lines"][0]["price"]
            now = int(time.time())
            sub_id = self.new_id("subscriptions")
            item = {
                "id": self.new_id("subscription_items"),
                "object": "subscription_item",
                "created": now,
                "metadata": {},
                "price": copy.deepcopy(price),
                "quantity": 1,
                "subscription": sub_id,
                "current_period_start": now,
                "current_period_end": now + 30 * 86400,
                "discounts": [],
                "tax_rates": [],
                "billing_thresholds": None,
            }
            self.objects[item["id"]] = copy.deepcopy(item)
            line = {
                "id": f"il_{secrets.token_hex(8)}",
                "object": "line_item",
                "amount": price["unit_amount"],
                "currency": "usd",
                "description": "1 × subscription",
                "livemode": False,
                "metadata": {},
                "period": {"start": now, "end": now + 30 * 86400},
                "quantity": 1,
                "parent": {
                    "type": "subscription_item_details",
                    "subscription_item_details": {
                        "subscription": sub_id,
                        "subscription_item": item["id"],
                    },
                },
            }
            invoice = self._new_invoice(
                customer=customer,
                subscription=sub_id,
                billing_reason="subscription_create",
                lines=[line],
                status="paid",
            )
            _, charge = self._pay(
                customer=customer, amount=price["unit_amount"], metadata={}, invoice=invoice["id"]
            )
            subscription = self.put(
                "subscriptions",
                {
                    "id": sub_id,
                    "customer": customer,
                    "status": "active",
                    "cancel_at_period_end": False,
                    "cancel_at": None,
                    "canceled_at": None,
                    "ended_at": None,
                    "start_date": now,
                    "billing_cycle_anchor": now,
                    "collection_method": "charge_automatically",
                    "currency": "usd",
                    "default_payment_method": None,
                    "default_tax_rates": [],
                    "discounts": [],
                    "latest_invoice": invoice["id"],
                    "metadata": session["_subscription_data"].get("metadata", {}),
                    "items": {
                        "object": "list",
                        "data": [item],
                        "has_more": False,
                        "total_count": 1,
                        "url": f"/v1/subscription_items?subscription={sub_id}",
                    },
                    "pending_update": None,
                    "schedule": None,
                    "trial_start": None,
                    "trial_end": None,
                    "test_clock": None,
                },
            )
            with self.lock:
                s = self.objects[session_id]
                s.update(
                    status="complete",
                    payment_status="paid",
                    subscription=sub_id,
                    customer=customer,
                    invoice=invoice["id"],
                )
            events += [
                self.emit("customer.subscription.created", subscription),
                self.emit("invoice.paid", self.get(invoice["id"])),
                self.emit("charge.succeeded", charge),
            ]
        else:
            metadata = session["_payment_intent_data"].get("metadata", {})
            intent, charge = self._pay(
                customer=customer, amount=session["amount_total"], metadata=metadata
            )
            with self.lock:
                s = self.objects[session_id]
                s.update(
                    status="complete",
                    payment_status="paid",
                    payment_intent=intent["id"],
                    customer=customer,
                )
            events.append(self.emit("charge.succeeded", charge))
        events.append(self.emit("checkout.session.completed", self._public(self.get(session_id))))
        return events

    def subscription_update(self, sub_id: str, **changes) -> tuple[dict, dict]:
        with self.lock:
            subscription = self.objects[sub_id]
            previous = {k: copy.deepcopy(subscription.get(k)) for k in changes}
            if "price" in changes:
                price = self.get(changes.pop("price"))
                subscription["items"]["data"][0]["price"] = price
                previous.pop("price")
                previous["items"] = "…"
            if "period" in changes:
                start, end = changes.pop("period")
                subscription["items"]["data"][0]["current_period_start"] = start
                subscription["items"]["data"][0]["current_period_end"] = end
                previous.pop("period")
            subscription.update(changes)
            current = self.get(sub_id)
        return current, self.emit("customer.subscription.updated", current, previous)

    def subscription_cancel(self, sub_id: str) -> tuple[dict, dict]:
        with self.lock:
            subscription = self.objects[sub_id]
            now = int(time.time())
            subscription.update(status="canceled", canceled_at=now, ended_at=now)
            current = self.get(sub_id)
        return current, self.emit("customer.subscription.deleted", current)

    def subscription_renew(self, sub_id: str) -> list[dict]:
        """The period ends: Stripe opens a draft renewal invoice (and sends
        invoice.created, the moment to add items), then advances the period."""
        subscription = self.get(sub_id)
        item = subscription["items"]["data"][0]
        start, end = item["current_period_end"], item["current_period_end"] + 30 * 86400
        line = {
            "id": f"il_{secrets.token_hex(8)}",
            "object": "line_item",
            "amount": item["price"]["unit_amount"],
            "currency": "usd",
            "description": "1 × subscription",
            "livemode": False,
            "metadata": {},
            "period": {"start": start, "end": end},
            "quantity": 1,
            "parent": {
                "type": "subscription_item_details",
                "subscription_item_details": {
                    "subscription": sub_id,
                    "subscription_item": item["id"],
                },
            },
        }
        invoice = self._new_invoice(
            customer=subscription["customer"],
            subscription=sub_id,
            billing_reason="subscription_cycle",
            lines=[line],
            status="draft",
        )
        with self.lock:
            self.objects[invoice["id"]]["period_start"] = item["current_period_start"]
            self.objects[invoice["id"]]["period_end"] = item["current_period_end"]
            # Pending invoice items of this customer are swept onto the invoice.
            for pending in self.of_type(
                "invoiceitem", customer=subscription["customer"], invoice=None
            ):
                self.objects[pending["id"]]["invoice"] = invoice["id"]
                self._invoice_add_line(invoice["id"], pending)
            self.objects[sub_id]["latest_invoice"] = invoice["id"]
        created = self.emit("invoice.created", self.get(invoice["id"]))
        _, updated = self.subscription_update(sub_id, period=(start, end))
        return [created, updated]

    def invoice_finalize_and_pay(self, invoice_id: str, *, succeed: bool = True) -> list[dict]:
        with self.lock:
            invoice = self.objects[invoice_id]
            invoice["status"] = "open"
            invoice["attempted"] = True
            invoice["attempt_count"] += 1
        events = [self.emit("invoice.finalized", self.get(invoice_id))]
        sub_id = (invoice.get("parent") or {}).get("subscription_details", {}).get("subscription")
        if succeed:
            _, charge = self._pay(
                customer=invoice["customer"],
                amount=invoice["amount_due"],
                metadata={},
                invoice=invoice_id,
            )
            with self.lock:
                invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0)
            events.append(self.emit("invoice.paid", self.get(invoice_id)))
            if sub_id and self.objects[sub_id]["status"] == "past_due":
                events.append(self.subscription_update(sub_id, status="active")[1])
        else:
            events.append(self.emit("invoice.payment_failed", self.get(invoice_id)))
            if sub_id:
                events.append(self.subscription_update(sub_id, status="past_due")[1])
        return events

    def charge_refund(self, charge_id: str, amount: int | None = None) -> dict:
        with self.lock:
            charge = self.objects[charge_id]
            amount = charge["amount"] - charge["amount_refunded"] if amount is None else amount
            refund = self.put(
                "refunds",
                {
                    "amount": amount,
                    "charge": charge_id,
                    "currency": "usd",
                    "payment_intent": charge["payment_intent"],
                    "reason": "requested_by_customer",
                    "status": "succeeded",
                    "balance_transaction": None,
                },
            )
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            charge["refunds"]["data"].append(copy.deepcopy(refund))
            current = self.get(charge_id)
        return self.emit("charge.refunded", current)
