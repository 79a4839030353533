"""Random scene sampling for the visual domains ("indoor", "studio" and "layout").

A style is a set of five room types; the room type is the ``class_scene`` label. In "indoor" and
"studio" it fixes the palette, the wall/floor texture families and the object-class mix, so it is
learnable from appearance alone. In "layout" (zoo 3.0) every room type draws its palette and
textures from one shared pool, independently of the label, and differs only in geometry: room
shape, ceiling height, number and mix of objects. Its label is then carried by layout, not by
colour statistics (which a frozen random conv net describes as well as a trained encoder). All
randomness comes from one ``np.random.Generator`` seeded per scene.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace

import numpy as np

from harness.probes.synthetic.geometry import OBJECT_CLASSES, Camera, Light, Room, SceneObject, SceneSpec, Texture

Range = tuple[float, float]
HSV = tuple[Range, Range, Range]


@dataclass(frozen=True)
class RoomType:
    name: str
    wall: HSV
    wall_textures: tuple[str, ...]
    floor: HSV
    floor_textures: tuple[str, ...]
    objects: HSV
    mix: tuple[float, float, float, float]  # weights of OBJECT_CLASSES
    contrast: float = 0.25  # how far a texture's second colour is from its first
    # layout of this room type (None: the style's); used by "layout", where only geometry tells room types apart
    room_width: Range | None = None
    room_depth: Range | None = None
    room_height: Range | None = None
    n_objects: tuple[int, int] | None = None


@dataclass(frozen=True)
class StyleConfig:
    room_types: tuple[RoomType, ...]
    room_size: Range  # width and depth, metres
    room_height: Range
    cam_height: Range
    look_distance: Range  # the camera looks at a point this far ahead ...
    look_height: Range  # ... at this height, then the pitch is jittered
    pitch_jitter_deg: float
    object_distance: Range  # from the camera, horizontally
    fov_deg: Range
    n_objects: tuple[int, int]  # inclusive
    object_scale: Range
    specular: Range
    shininess: Range
    ambient: Range
    light: str  # "point" or "directional"
    light_color: tuple[float, float, float]
    ceiling: HSV
    object_patterns: tuple[str, ...]
    grain: float
    # "layout": palette and textures come from ``appearances`` (drawn independently of the room type), and the first
    # object (the one the camera looks at) is drawn from every class alike, at ``subject_scale``
    appearances: tuple[RoomType, ...] = ()
    subject_scale: Range | None = None


_ANY: Range = (0.0, 1.0)

INDOOR = StyleConfig(
    room_types=(
        RoomType("living_room", ((0.07, 0.13), (0.15, 0.35), (0.75, 0.92)), ("stripes", "noise"),
                 ((0.05, 0.09), (0.45, 0.7), (0.35, 0.6)), ("planks",),
                 ((0.0, 0.12), (0.35, 0.65), (0.35, 0.8)), (0.2, 0.35, 0.3, 0.15)),
        RoomType("kitchen", ((0.0, 1.0), (0.0, 0.08), (0.85, 0.97)), ("tiles",),
                 ((0.55, 0.65), (0.0, 0.15), (0.2, 0.9)), ("checker",),
                 ((0.95, 1.05), (0.0, 0.8), (0.5, 0.9)), (0.15, 0.35, 0.4, 0.1), contrast=0.55),
        RoomType("bedroom", ((0.55, 0.95), (0.2, 0.4), (0.78, 0.95)), ("noise", "stripes"),
                 ((0.0, 1.0), (0.2, 0.4), (0.4, 0.7)), ("noise",),
                 ((0.5, 1.0), (0.2, 0.45), (0.65, 0.95)), (0.4, 0.3, 0.15, 0.15)),
        RoomType("office", ((0.0, 1.0), (0.0, 0.06), (0.6, 0.85)), ("solid", "noise"),
                 ((0.55, 0.65), (0.1, 0.3), (0.25, 0.45)), ("noise", "tiles"),
                 ((0.55, 0.68), (0.1, 0.5), (0.15, 0.5)), (0.15, 0.35, 0.3, 0.2)),
        RoomType("bathroom", ((0.45, 0.55), (0.2, 0.5), (0.7, 0.95)), ("tiles",),
                 ((0.45, 0.6), (0.05, 0.3), (0.6, 0.95)), ("checker", "tiles"),
                 ((0.45, 0.6), (0.0, 0.35), (0.8, 1.0)), (0.3, 0.2, 0.4, 0.1), contrast=0.35),
    ),
    room_size=(4.0, 6.5), room_height=(2.5, 3.2), cam_height=(1.1, 1.7), look_distance=(2.5, 4.5), look_height=(0.1, 0.6),
    pitch_jitter_deg=5.0, object_distance=(1.3, 5.0),
    fov_deg=(50.0, 75.0), n_objects=(3, 6), object_scale=(0.8, 1.1), specular=(0.0, 0.25),
    shininess=(8.0, 32.0), ambient=(0.12, 0.22), light="point", light_color=(1.0, 0.9, 0.75),
    ceiling=((0.08, 0.14), (0.0, 0.1), (0.85, 0.97)), object_patterns=("solid", "solid", "stripes"), grain=0.12,
)

STUDIO = StyleConfig(
    room_types=(
        RoomType("red_backdrop", ((-0.03, 0.03), (0.6, 0.85), (0.6, 0.9)), ("gradient",),
                 (_ANY, (0.0, 0.0), (0.05, 0.15)), ("checker",),
                 (_ANY, (0.7, 1.0), (0.7, 1.0)), (0.55, 0.15, 0.15, 0.15), contrast=0.8),
        RoomType("blue_grid", ((0.58, 0.66), (0.6, 0.9), (0.5, 0.85)), ("grid",),
                 ((0.58, 0.66), (0.5, 0.8), (0.2, 0.4)), ("grid",),
                 (_ANY, (0.7, 1.0), (0.7, 1.0)), (0.15, 0.55, 0.15, 0.15), contrast=0.6),
        RoomType("green_screen", ((0.28, 0.36), (0.6, 0.9), (0.55, 0.85)), ("gradient", "solid"),
                 ((0.28, 0.36), (0.3, 0.6), (0.35, 0.6)), ("solid",),
                 (_ANY, (0.7, 1.0), (0.7, 1.0)), (0.15, 0.15, 0.55, 0.15), contrast=0.5),
        RoomType("yellow_checker", ((0.12, 0.17), (0.6, 0.9), (0.8, 1.0)), ("solid", "gradient"),
                 ((0.12, 0.17), (0.5, 0.9), (0.5, 0.9)), ("checker",),
                 (_ANY, (0.7, 1.0), (0.6, 1.0)), (0.15, 0.15, 0.15, 0.55), contrast=0.7),
        RoomType("purple_stripes", ((0.75, 0.85), (0.5, 0.8), (0.5, 0.8)), ("stripes",),
                 (_ANY, (0.0, 0.1), (0.1, 0.3)), ("solid",),
                 (_ANY, (0.7, 1.0), (0.7, 1.0)), (0.25, 0.25, 0.25, 0.25), contrast=0.4),
    ),
    room_size=(5.0, 6.5), room_height=(2.8, 3.2), cam_height=(0.6, 1.3), look_distance=(2.4, 3.6), look_height=(0.15, 0.5),
    pitch_jitter_deg=4.0, object_distance=(1.8, 4.2),
    fov_deg=(38.0, 55.0), n_objects=(2, 4), object_scale=(1.0, 1.35), specular=(0.35, 0.8),
    shininess=(40.0, 120.0), ambient=(0.22, 0.35), light="directional", light_color=(0.95, 0.98, 1.05),
    ceiling=(_ANY, (0.0, 0.0), (0.1, 0.2)), object_patterns=("solid",), grain=0.0,
)

def _layout_type(name: str, width: Range, depth: Range, height: Range, n_objects: tuple[int, int],
                 mix: tuple[float, float, float, float]) -> RoomType:
    """A "layout" room type: geometry and object mix only (its palette fields are unused)."""
    return RoomType(name, ((0, 1), (0, 0), (0.8, 0.8)), ("solid",), ((0, 1), (0, 0), (0.5, 0.5)), ("solid",),
                    ((0, 1), (0.5, 0.5), (0.7, 0.7)), mix, room_width=width, room_depth=depth, room_height=height,
                    n_objects=n_objects)


LAYOUT = replace(
    INDOOR,
    room_types=(
        _layout_type("hall", (7.5, 9.5), (7.5, 9.5), (3.6, 4.4), (2, 3), (0.25, 0.25, 0.25, 0.25)),
        _layout_type("corridor", (2.0, 2.6), (8.0, 10.0), (2.5, 3.0), (1, 2), (0.25, 0.25, 0.25, 0.25)),
        _layout_type("storeroom", (4.0, 5.5), (4.0, 5.5), (2.5, 3.0), (7, 9), (0.05, 0.8, 0.1, 0.05)),
        _layout_type("gallery", (4.5, 6.0), (4.5, 6.0), (2.8, 3.2), (4, 6), (0.45, 0.0, 0.1, 0.45)),
        _layout_type("nook", (2.6, 3.2), (2.8, 3.4), (2.1, 2.4), (2, 3), (0.1, 0.2, 0.6, 0.1)),
    ),
    appearances=INDOOR.room_types, subject_scale=(1.15, 1.4), object_distance=(1.1, 5.0),
)

STYLE_CONFIGS: dict[str, StyleConfig] = {"indoor": INDOOR, "studio": STUDIO, "layout": LAYOUT}
STYLES: tuple[str, ...] = tuple(STYLE_CONFIGS)
SCENE_CLASS_NAMES: dict[str, tuple[str, ...]] = {s: tuple(rt.name for rt in c.room_types) for s, c in STYLE_CONFIGS.items()}


def _u(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1]))


def _color(rng: np.random.Generator, hsv: HSV) -> tuple[float, float, float]:
    h, s, v = _u(rng, hsv[0]) % 1.0, _u(rng, hsv[1]), _u(rng, hsv[2])
    return tuple(float(c) for c in colorsys.hsv_to_rgb(h, s, v))  # type: ignore[return-value]


def _second(rng: np.random.Generator, color: tuple[float, float, float], contrast: float) -> tuple[float, float, float]:
    """A darker (or, for dark colours, lighter) variant of ``color`` for two-tone patterns."""
    c = np.asarray(color)
    amount = contrast * _u(rng, (0.7, 1.0))
    out = c * (1 - amount) if c.mean() > 0.4 else c + (1 - c) * amount
    return tuple(float(x) for x in out)  # type: ignore[return-value]


def _texture(rng: np.random.Generator, kinds: tuple[str, ...], hsv: HSV, contrast: float, scale: Range,
             grain: float) -> Texture:
    kind = kinds[int(rng.integers(len(kinds)))]
    a = _color(rng, hsv)
    return Texture(kind, a, _second(rng, a, contrast), _u(rng, scale), int(rng.integers(1 << 30)), grain)


def _sample_object(rng: np.random.Generator, cfg: StyleConfig, rt: RoomType, look: RoomType, subject: bool = False) -> SceneObject:
    """One object of room type ``rt``, coloured like room type ``look``; the ``subject`` (first object) of a style
    with ``subject_scale`` is of any class alike and larger, so that ``class_object`` does not follow the room type."""
    mix = np.ones(len(OBJECT_CLASSES)) if subject and cfg.subject_scale else np.asarray(rt.mix)
    kind = OBJECT_CLASSES[int(rng.choice(len(OBJECT_CLASSES), p=mix / mix.sum()))]
    s = _u(rng, cfg.subject_scale if subject and cfg.subject_scale else cfg.object_scale)
    if kind == "sphere":
        size: tuple[float, ...] = (s * _u(rng, (0.15, 0.4)),)
    elif kind == "box":
        size = (s * _u(rng, (0.2, 0.55)), s * _u(rng, (0.12, 0.5)), s * _u(rng, (0.2, 0.55)))
    elif kind == "cylinder":
        size = (s * _u(rng, (0.12, 0.35)), s * _u(rng, (0.3, 1.1)))
    else:
        size = (s * _u(rng, (0.15, 0.35)), s * _u(rng, (0.4, 1.0)))
    yaw = 0.0 if rng.random() < 0.4 else _u(rng, (0.0, np.pi / 2))
    color = _color(rng, look.objects)
    pattern = cfg.object_patterns[int(rng.integers(len(cfg.object_patterns)))]
    tex = Texture(pattern, color, _second(rng, color, 0.5), _u(rng, (0.08, 0.2)), int(rng.integers(1 << 30)))
    spec = _u(rng, cfg.specular) if rng.random() < 0.7 else 0.0
    return SceneObject(kind, (0.0, 0.0, 0.0), size, yaw, tex, spec, _u(rng, cfg.shininess))


def _free_distance(room: Room, x: float, z: float, yaw: float) -> float:
    """Horizontal distance from (x, z) to the wall in direction ``yaw``."""
    dx, dz = np.sin(yaw), np.cos(yaw)
    ts = [((room.width / 2 if dx > 0 else -room.width / 2) - x) / dx if abs(dx) > 1e-9 else np.inf,
          ((room.depth / 2 if dz > 0 else -room.depth / 2) - z) / dz if abs(dz) > 1e-9 else np.inf]
    return float(min(ts))


def sample_scene(seed: int, style: str) -> SceneSpec:
    """The scene description for (seed, style); the same pair always gives the same scene."""
    if style not in STYLE_CONFIGS:
        raise ValueError(f"unknown style {style!r}; valid styles: {', '.join(STYLES)}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    cfg = STYLE_CONFIGS[style]
    rng = np.random.default_rng([int(seed), STYLES.index(style)])
    scene_class = int(rng.integers(len(cfg.room_types)))
    rt = cfg.room_types[scene_class]
    look = cfg.appearances[int(rng.integers(len(cfg.appearances)))] if cfg.appearances else rt  # palette and textures
    room = Room(_u(rng, rt.room_width or cfg.room_size), _u(rng, rt.room_depth or cfg.room_size),
                _u(rng, rt.room_height or cfg.room_height))

    for _ in range(50):  # a camera position with enough free space in front
        x = _u(rng, (-room.width / 2 + 0.4, room.width / 2 - 0.4))
        z = _u(rng, (-room.depth / 2 + 0.4, room.depth / 2 - 0.4))
        yaw = float(np.arctan2(-x, -z) + _u(rng, (-0.6, 0.6)))
        free = _free_distance(room, x, z, yaw)
        if free >= 2.8:
            break
    fov = np.radians(_u(rng, cfg.fov_deg))
    cam_h = _u(rng, cfg.cam_height)
    pitch = np.arctan2(_u(rng, cfg.look_height) - cam_h, min(_u(rng, cfg.look_distance), free))
    pitch += np.radians(_u(rng, (-cfg.pitch_jitter_deg, cfg.pitch_jitter_deg)))
    camera = Camera((x, cam_h, z), yaw, float(pitch), float(fov))

    objects: list[SceneObject] = []
    low, high = rt.n_objects or cfg.n_objects
    for i in range(int(rng.integers(low, high + 1))):
        proto = _sample_object(rng, cfg, rt, look, subject=i == 0)
        r = proto.footprint_radius()
        for _ in range(30):  # place inside the view wedge, inside the room, without overlaps
            spread = 0.12 if i == 0 else 0.42
            ang = yaw + _u(rng, (-spread, spread)) * fov
            near, far = cfg.object_distance
            dist = _u(rng, (near + r, max(near + r + 0.1, min(free - 0.2, far))))
            ox, oz = x + dist * np.sin(ang), z + dist * np.cos(ang)
            if abs(ox) > room.width / 2 - r - 0.05 or abs(oz) > room.depth / 2 - r - 0.05:
                continue
            if any(np.hypot(ox - o.position[0], oz - o.position[2]) < r + o.footprint_radius() + 0.05 for o in objects):
                continue
            objects.append(SceneObject(proto.kind, (float(ox), 0.0, float(oz)), proto.size, proto.yaw,
                                       proto.texture, proto.specular, proto.shininess))
            break

    ambient = _u(rng, cfg.ambient)
    if cfg.light == "point":
        lpos = (_u(rng, (-0.35, 0.35)) * room.width, room.height - 0.25, _u(rng, (-0.35, 0.35)) * room.depth)
        light = Light("point", lpos, tuple(c * _u(rng, (1.1, 1.5)) for c in cfg.light_color), (ambient,) * 3)
    else:
        el, az = np.radians(_u(rng, (35.0, 65.0))), _u(rng, (0.0, 2 * np.pi))
        direction = (float(np.cos(el) * np.sin(az)), float(np.sin(el)), float(np.cos(el) * np.cos(az)))
        light = Light("directional", direction, tuple(c * _u(rng, (0.9, 1.1)) for c in cfg.light_color),
                      (ambient * 0.9, ambient * 0.95, ambient * 1.05))

    floor = _texture(rng, look.floor_textures, look.floor, look.contrast, (0.4, 1.0), cfg.grain)
    walls = _texture(rng, look.wall_textures, look.wall, look.contrast, (0.15, 0.5), cfg.grain)
    ceiling = _texture(rng, ("solid",), cfg.ceiling, 0.1, (0.5, 1.0), cfg.grain * 0.5)
    return SceneSpec(room, camera, light, tuple(objects), floor, walls, ceiling, style, scene_class)
