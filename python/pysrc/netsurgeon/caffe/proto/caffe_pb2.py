"""Caffe's protobuf messages (``caffe.proto``), built at import from the schema
netsurgeon embeds, without protoc: ``caffe_pb2.NetParameter()``,
``text_format.Merge(open(p).read(), caffe_pb2.NetParameter())`` and the
enums at module level (``caffe_pb2.TEST``), as protoc's module gives them.

The schema is BVLC Caffe's, with the SSD fork's fields at their numbers and
netsurgeon's ``KeptField`` (which keeps fork fields verbatim); fork layers'
own messages (``caffe_forks.proto``) are in ``caffe_forks_pb2``-style classes
reachable by name through :data:`DESCRIPTOR_POOL`.
"""

from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf import descriptor_pool as _descriptor_pool
from google.protobuf import message_factory as _message_factory
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper

from ... import _native

_files = _descriptor_pb2.FileDescriptorSet.FromString(_native.descriptor_set())
DESCRIPTOR_POOL = _descriptor_pool.DescriptorPool()
for _file in _files.file:
    DESCRIPTOR_POOL.Add(_file)
DESCRIPTOR = DESCRIPTOR_POOL.FindFileByName("caffe.proto")

for _name, _message in DESCRIPTOR.message_types_by_name.items():
    globals()[_name] = _message_factory.GetMessageClass(_message)
for _name, _enum in DESCRIPTOR.enum_types_by_name.items():
    globals()[_name] = _enum_type_wrapper.EnumTypeWrapper(_enum)
    for _value in _enum.values:
        globals()[_value.name] = _value.number

del _name, _message, _enum, _value, _file
