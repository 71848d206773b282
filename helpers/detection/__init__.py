"""Object detection for the course's R-CNN lecture (lecture 10, ps08).

Modules: ``boxes`` (formats, IoU, regression targets), ``nms``, ``anchors``,
``roi_pooling`` (RoI max pooling, crop-and-resize, spatial pyramid pooling),
``evaluation`` (VOC/COCO average precision), ``scenes`` (detection scenes
made of real FashionMNIST items), ``selective_search``, and the detectors.
Boxes are ``(x1, y1, x2, y2)`` in continuous pixel coordinates everywhere
(see :mod:`helpers.detection.boxes`).
"""
