"""``caffe.proto``: ``caffe_pb2`` built from netsurgeon's schema."""
