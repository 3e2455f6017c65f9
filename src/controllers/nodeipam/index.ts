/** The node IPAM controller's registration (kube-controller-manager `nodeipam`): one podCIDR per Node. */
import { nodeIpamDefinition } from './nodeipam.js';

export { CidrSet, DEFAULT_CLUSTER_CIDR, DEFAULT_NODE_MASK_SIZE, NAME, newNodeIpamController, nodeIpamDefinition, type NodeIpamOptions } from './nodeipam.js';
export * from '../../api/cidr.js';

/** Registered by the controller-manager as `nodeipam` with the default cluster CIDR 10.42.0.0/16 and /24 per node. */
export const definition = nodeIpamDefinition();
