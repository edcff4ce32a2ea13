"""Image inputs come from the graph: name them in every schema.

Before, a run's one upload replaced the placeholder `INPUT_FILENAME` of
node "1" (and filled every `image` parameter). Now every LoadImage /
LoadImageMask node is an image input listed in the schema. This writes the
entries into every Workflow and WorkflowVersion row (old versions stay
runnable) so each runs exactly as before:

* node "1" holding the placeholder becomes the required input `image`;
* any other image node ran with the file its graph names, so it becomes an
  *optional* input (named from its title) that keeps that file unless a run
  brings one;
* an existing `image` parameter received the upload on every run, so it is
  marked required.

The rule is copied here, not imported, so this migration means the same
thing whatever the app's code becomes. Reversing leaves the entries: the
previous code ran them the same way.
"""

from django.db import migrations
from django.utils.text import slugify

PLACEHOLDER_NODE, PLACEHOLDER = "1", "INPUT_FILENAME"
IMAGE_NODE_TYPES = ("LoadImage", "LoadImageMask")
MASK_CHANNELS = ("alpha", "red", "green", "blue")
DEFAULT_TITLES = ("load image", "load image (as mask)")
RESERVED = ("input_image",)


def _sort_key(node_id):
    numeric = node_id.isascii() and node_id.isdigit()
    return (0, int(node_id), "") if numeric else (1, 0, node_id)


def _slug(text):
    return slugify(text).replace("-", "_").strip("_")


def _unique(name, taken):
    candidate, n = name, 2
    while candidate in taken:
        suffix = f"_{n}"
        candidate, n = name[: 50 - len(suffix)] + suffix, n + 1
    return candidate


def with_image_inputs(graph, parameters):
    """`parameters` with the image inputs of `graph` named (a new list), or
    `parameters` itself when nothing changes."""
    if not isinstance(graph, dict) or not isinstance(parameters, list):
        return parameters
    changed = []
    for param in parameters:
        if isinstance(param, dict) and param.get("type") == "image" and not param.get(
            "required", True
        ):
            param = {**param, "required": True}
        changed.append(param)
    targeted = {
        (str(p.get("node_id")), p.get("node_input")) for p in changed if isinstance(p, dict)
    }
    taken = set(RESERVED) | {
        p["name"] for p in changed if isinstance(p, dict) and isinstance(p.get("name"), str)
    }
    image_nodes = sorted(
        (
            node_id
            for node_id, node in graph.items()
            if isinstance(node, dict)
            and node.get("class_type") in IMAGE_NODE_TYPES
            and isinstance(node.get("inputs"), dict)
            and "image" in node["inputs"]
            and not isinstance(node["inputs"]["image"], list)
            and (node_id, "image") not in targeted
        ),
        key=_sort_key,
    )
    # The old input first: it is the one that gets the name `image`.
    image_nodes.sort(
        key=lambda n: not (n == PLACEHOLDER_NODE and graph[n]["inputs"]["image"] == PLACEHOLDER)
    )
    for node_id in image_nodes:
        node = graph[node_id]
        is_mask = node["class_type"] == "LoadImageMask"
        if node_id == PLACEHOLDER_NODE and node["inputs"]["image"] == PLACEHOLDER:
            name = _unique("image", taken)
            entry = {"name": name, "type": "image", "label": "Input image", "required": True}
        else:
            meta = node.get("_meta") if isinstance(node.get("_meta"), dict) else {}
            title = meta.get("title") if isinstance(meta.get("title"), str) else ""
            title = "" if title.strip().lower() in DEFAULT_TITLES else title.strip()
            name = _slug(title)[:50].strip("_")
            if not name or not name[0].isalpha() or name in taken:
                slug = _slug(node_id)
                name = _unique(f"image_{slug}"[:50] if slug else "image", taken)
            label = title or f"{'Mask' if is_mask else 'Image'} {node_id}"
            entry = {"name": name, "type": "image", "label": label[:100], "required": False}
        entry.update(node_id=node_id, node_input="image")
        if is_mask and node["inputs"].get("channel") in MASK_CHANNELS:
            entry["channel"] = node["inputs"]["channel"]
        taken.add(name)
        changed.append(entry)
    return parameters if changed == parameters else changed


def name_image_inputs(apps, schema_editor):
    for model_name in ("Workflow", "WorkflowVersion"):
        model = apps.get_model("workflows", model_name)
        for row in model.objects.only("id", "workflow_json", "parameters").iterator():
            parameters = with_image_inputs(row.workflow_json, row.parameters)
            if parameters is not row.parameters:
                model.objects.filter(id=row.id).update(parameters=parameters)


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0002_load_presets"),
    ]

    operations = [
        migrations.RunPython(name_image_inputs, migrations.RunPython.noop),
    ]
